"""Schemathesis against the app's own OpenAPI document, as an admin and as a volunteer.

Every operation gets generated requests (examples, coverage and fuzzing phases, valid and invalid
data); each response must not be a 5xx, must carry a status the document lists for that operation,
must match the documented schema and content type, and schema-violating requests must be refused.
Not checked: that every schema-valid request is accepted (`positive_data_acceptance`) — the rules
beyond JSON Schema (known district codes, Kazakh phone numbers, cursors this API gave out, a capture
time within 30 days, a site that exists) rightly answer 422 to generated values. Rate limits are off for the run (a dedicated
app built with RATELIMIT_ENABLED=false). Seeded rows (a site, an inspection, a saving, an alert, a
job, a second volunteer, an inspector) make generated path ids resolve part of the time, so the
handlers behind the 404 are fuzzed too.

Bounded and reproducible: `max_examples` per operation (FUZZ_MAX_EXAMPLES, default 50; about a minute per backend on 2 cores) and
`derandomize=True`, so CI sees the same cases every run.
"""
import json
import itertools
import os
import time
import uuid
from collections import Counter
from datetime import timedelta
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.field_support import inspection_body, site_body
from volunteer_api.timestamps import format_utc, utcnow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck), print_blob=False)

schema = schemathesis.pytest.from_fixture("fuzz_schema")


@dataclass
class FuzzWorld:
    """The dedicated app, the signed-in callers and the ids of the seeded rows."""

    app: object
    headers: dict[str, dict]
    logins: dict[str, str]
    ids: dict[str, dict[str, str]]
    calls: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    _turn: itertools.count = field(default_factory=itertools.count)

    def fresh_tokens(self, role: str) -> dict:
        """A session of its own, so logging out or rotating it leaves the fuzzing caller signed in."""
        from volunteer_api.auth.services import login

        with self.app.app_context():
            _, tokens = login(login=self.logins[role], password=PASSWORD, address="127.0.0.1", user_agent="fuzz")
            return tokens

    def prepare(self, case, role: str) -> dict:
        """Point some generated ids at seeded rows and pick the token the operation needs."""
        seeded = self.ids[role]
        # Only values generated as valid are replaced: a deliberately invalid one must reach the app as is.
        if next(self._turn) % 2 == 0:
            if not _negative(case, ParameterLocation.PATH):
                for name in list(case.path_parameters or {}):
                    if name in seeded:
                        case.path_parameters[name] = seeded[name]
            if isinstance(case.body, dict) and not _negative(case, ParameterLocation.BODY):
                if isinstance(case.body.get("site_id"), str):
                    case.body["site_id"] = seeded["site_id"]
                if isinstance(case.body.get("captured_at"), str):
                    # The document cannot say "within the last 30 days"; a recent time reaches the filing.
                    case.body["captured_at"] = format_utc(utcnow() - timedelta(minutes=5))
        path = case.operation.path
        if path.endswith("/auth/refresh"):
            return {"Authorization": f"Bearer {self.fresh_tokens(role)['refresh_token']}"}
        if path.endswith("/auth/logout"):
            return {"Authorization": f"Bearer {self.fresh_tokens(role)['access_token']}"}
        return self.headers[role]

    def run(self, case, role: str):
        headers = self.prepare(case, role)
        response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        self.calls[case.operation.label] += 1
        self.statuses[response.status_code] += 1
        return response


PASSWORD = "correct horse battery"


def _negative(case, location) -> bool:
    return case.meta is not None and case.meta.is_negative_at(location)


def _seed(client, admin, volunteer, other_volunteer, inspector) -> dict:
    """A site, inspections and savings of both volunteers, an alert and a job; their ids by role."""
    from volunteer_api.alerts.services import create_alerts
    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob

    site = client.post("/api/v1/sites", headers=admin.headers, json=site_body()).get_json()
    mine = client.post("/api/v1/inspections", headers=volunteer.headers,
                       json=inspection_body(site["id"], severity="high")).get_json()
    client.post("/api/v1/inspections", headers=other_volunteer.headers, json=inspection_body(site["id"]))
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "250000.00",
        "category": "overpricing_prevented", "description": "Cement priced at twice the market."}).get_json()
    with client.application.app_context():
        create_alerts(kind="inspection_flagged", event_key=f"fuzz:{mine['id']}", subject_type="inspection",
                      subject_id=mine["id"], recipients=[int(admin.id), int(inspector.id)])
        db.session.commit()
        job_id = str(db.session.scalars(db.select(OutboxJob.id).order_by(OutboxJob.id)).first())
        from volunteer_api.alerts.models import Alert

        alert_id = str(db.session.scalars(
            db.select(Alert.id).where(Alert.recipient_id == int(admin.id))).first())
    common = {"site_id": site["id"], "inspection_id": mine["id"], "saving_id": saving["id"], "job_id": job_id,
              "alert_id": alert_id}
    return {
        # The admin edits the second volunteer, never the one whose token fuzzes the other run.
        "admin": {**common, "volunteer_id": other_volunteer.id, "inspector_id": inspector.id},
        "volunteer": {**common, "volunteer_id": volunteer.id, "inspector_id": inspector.id},
    }


@pytest.fixture
def fuzz_world(make_app, client, make_admin, make_volunteer, make_inspector, run_jobs):
    admin, volunteer, other_volunteer = make_admin(), make_volunteer("taraz"), make_volunteer("merke")
    inspector = make_inspector(["taraz"])
    ids = _seed(client, admin, volunteer, other_volunteer, inspector)
    run_jobs()
    fuzz_app = make_app({"RATELIMIT_ENABLED": "false"})
    world = FuzzWorld(app=fuzz_app, headers={"admin": admin.headers, "volunteer": volunteer.headers},
                      logins={"admin": admin.login, "volunteer": volunteer.login}, ids=ids)
    started = time.monotonic()
    yield world
    dispatcher = fuzz_app.extensions["job_dispatcher"]
    if hasattr(dispatcher, "wait_idle"):
        dispatcher.wait_idle()
    print(f"\nfuzz: {len(world.calls)} operations, {sum(world.calls.values())} requests in "
          f"{time.monotonic() - started:.1f} s; statuses {dict(sorted(world.statuses.items()))}")


@pytest.fixture
def fuzz_schema(fuzz_world):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_world.app)
    # The bearer token is the fixture's, always sent; the `ignored_auth` check still tries the
    # operations without it and with a bad one (each must be 401).
    loaded.config.generation.update(deterministic=True, with_security_parameters=False)
    return loaded


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_admin(case, fuzz_world):
    fuzz_world.run(case, "admin")


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_volunteer(case, fuzz_world):
    fuzz_world.run(case, "volunteer")


# What the fuzzer found, pinned down so it stays fixed whatever the generator draws next time.

def test_nul_or_unpaired_surrogate_in_text_is_422_and_changes_nothing(client, admin):
    site = client.post("/api/v1/sites", headers=admin.headers, json=site_body()).get_json()
    for body in ({"name": "School\u0000 7"}, {"address": "a", "contract_number": "\ud800"},
                 {"location": {"lat": 1, "lon": 2}, "\u0000": 1}):
        # Sent as a client would: JSON escapes (\ud800 cannot be encoded as UTF-8 text).
        response = client.patch(f"/api/v1/sites/{site['id']}", headers=admin.headers, data=json.dumps(body),
                                content_type="application/json")
        assert response.status_code == 422, (body, response.get_json())
        assert response.content_type == "application/problem+json"
    assert client.get(f"/api/v1/sites/{site['id']}", headers=admin.headers).get_json()["name"] == "School No. 7"
    response = client.get("/api/v1/sites?district=taraz%00", headers=admin.headers)
    assert response.status_code == 422 and "district" in response.get_json()["errors"]


def test_login_with_a_nul_in_the_login_is_422_not_a_database_error(client):
    response = client.post("/api/v1/auth/login", json={"login": "a\u0000@b.kz", "password": "x" * 12})
    assert response.status_code == 422


def test_a_patch_without_any_field_is_422(client, admin, volunteer):
    for body in ({}, None):
        response = client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json=body)
        assert response.status_code == 422, body


def test_a_float_for_an_integer_field_is_422_not_truncated(client, admin):
    response = client.post("/api/v1/sites", headers=admin.headers, json=site_body(geofence_radius_m=250.7))
    assert response.status_code == 422 and "geofence_radius_m" in response.get_json()["errors"]


def test_an_upload_with_extra_form_fields_is_422(client, volunteer, admin):
    import io

    from tests.field_support import image_bytes

    site = client.post("/api/v1/sites", headers=admin.headers, json=site_body()).get_json()
    inspection = client.post("/api/v1/inspections", headers=volunteer.headers, json=inspection_body(site["id"])).get_json()
    response = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(image_bytes()), "p.jpg"), "caption": "x"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "caption" in response.get_json()["errors"]
    assert client.get(f"/api/v1/inspections/{inspection['id']}", headers=volunteer.headers).get_json()["photos"] == []


def test_import_paths_are_not_taken_for_ids(client, admin):
    response = client.get("/api/v1/volunteers/import", headers=admin.headers)
    assert response.status_code == 405 and set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert client.options("/api/v1/sites/import").headers["Allow"] in ("OPTIONS, POST", "POST, OPTIONS")


def test_a_nameless_multipart_part_is_422_not_a_crash(client, admin):
    body = (b'--b\r\nContent-Disposition: form-data\r\n\r\nfalse\r\n--b\r\nContent-Disposition: form-data; '
            b'name="x\x00"\r\n\r\n1\r\n--b--\r\n')
    response = client.post("/api/v1/sites/import", headers=admin.headers, data=body,
                           content_type="multipart/form-data; boundary=b")
    assert response.status_code == 422, response.get_json()
