"""Every endpoint × every role × owner / non-owner: who gets 401, 403, 404, and who is let in.

The endpoints come from the app's URL map; each must have a row in MATRIX, so a new endpoint fails
this file until someone decides who may call it. A row lists the outcome class for each caller:

    anonymous  volunteer_owner  volunteer_other  inspector_district  inspector_other  admin

`401`, `403`, `404` are exact statuses; `ok` is "let in": a 2xx, or a 4xx that is not 401/403/404
(a 409 for a second review, a 422 the rules gave after the caller was let in). A 5xx never passes.
The objects in the paths belong to `volunteer_owner` (inspection, saving, their account), lie in
the district `inspector_district` covers (taraz; `inspector_other` covers merke), and the alert is in
`inspector_district`'s inbox. Every request carries a valid body, so the service's own object checks
(not only the role decorator or the schema) decide.
"""
import io
import re
import uuid

import pytest

from tests.factories import PASSWORD
from tests.field_support import image_bytes, inspection_body, site_body
from tests.support import next_phone
from volunteer_api.audit.verifications import start_full_verification
from volunteer_api.timestamps import format_utc, utcnow

MATRIX_TRACE = False
ROLES = ("anonymous", "volunteer_owner", "volunteer_other", "inspector_district", "inspector_other", "admin")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

PUBLIC = "ok ok ok ok ok ok"
SIGNED_IN = "401 ok ok ok ok ok"
STAFF = "401 403 403 ok ok ok"
VOLUNTEERS = "401 ok ok 403 403 403"
ADMIN = "401 403 403 403 403 ok"
# An object of volunteer_owner's in the taraz district.
OWNER_OR_DISTRICT = "401 ok 404 ok 404 ok"
DISTRICT_REVIEW = "401 403 403 ok 404 ok"

V1 = "/api/v1"
MATRIX = {
    ("GET", "/"): PUBLIC,
    ("GET", f"{V1}/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    # No user's token opens it: without METRICS_TOKEN it is not served (tests/test_metrics.py).
    ("GET", "/metrics"): "404 404 404 404 404 404",
    ("GET", f"{V1}/openapi.json"): PUBLIC,
    ("GET", f"{V1}/docs"): PUBLIC,
    ("GET", f"{V1}/docs/assets/<path:filename>"): PUBLIC,
    ("POST", f"{V1}/auth/login"): PUBLIC,
    ("POST", f"{V1}/auth/refresh"): SIGNED_IN,
    ("POST", f"{V1}/auth/logout"): SIGNED_IN,
    ("GET", f"{V1}/me"): SIGNED_IN,
    # Everyone changes their own password (the body's wrong current password makes it a 422 here).
    ("POST", f"{V1}/auth/password"): SIGNED_IN,
    ("POST", f"{V1}/volunteers/<id:volunteer_id>/reset-password"): ADMIN,
    ("POST", f"{V1}/inspectors/<id:inspector_id>/reset-password"): ADMIN,
    ("GET", f"{V1}/districts"): PUBLIC,
    # Inspectors read the volunteers of their districts (another district's list is empty; one is 404).
    ("GET", f"{V1}/volunteers"): STAFF,
    ("POST", f"{V1}/volunteers"): ADMIN,
    ("POST", f"{V1}/volunteers/import"): ADMIN,
    ("GET", f"{V1}/volunteers/<id:volunteer_id>"): DISTRICT_REVIEW,
    ("PATCH", f"{V1}/volunteers/<id:volunteer_id>"): ADMIN,
    ("GET", f"{V1}/inspectors"): ADMIN,
    ("POST", f"{V1}/inspectors"): ADMIN,
    ("GET", f"{V1}/inspectors/<id:inspector_id>"): ADMIN,
    ("PATCH", f"{V1}/inspectors/<id:inspector_id>"): ADMIN,
    ("GET", f"{V1}/sites"): SIGNED_IN,
    ("POST", f"{V1}/sites"): ADMIN,
    ("POST", f"{V1}/sites/import"): ADMIN,
    ("GET", f"{V1}/sites/<id:site_id>"): SIGNED_IN,
    ("PATCH", f"{V1}/sites/<id:site_id>"): ADMIN,
    ("GET", f"{V1}/inspections"): SIGNED_IN,
    ("POST", f"{V1}/inspections"): VOLUNTEERS,
    ("GET", f"{V1}/inspections/<id:inspection_id>"): OWNER_OR_DISTRICT,
    ("POST", f"{V1}/inspections/<id:inspection_id>/review"): DISTRICT_REVIEW,
    ("POST", f"{V1}/inspections/<id:inspection_id>/referral"): DISTRICT_REVIEW,
    ("POST", f"{V1}/inspections/<id:inspection_id>/resolution"): DISTRICT_REVIEW,
    ("GET", f"{V1}/outcomes"): STAFF,
    ("GET", f"{V1}/map/sites.geojson"): SIGNED_IN,
    ("GET", f"{V1}/reports/monthly"): ADMIN,
    ("GET", f"{V1}/open-data/oc4ids.json"): PUBLIC,
    ("GET", f"{V1}/public/summary"): PUBLIC,
    ("GET", "/transparency"): PUBLIC,
    # Only the author adds photos: another volunteer is told the inspection does not exist.
    ("POST", f"{V1}/inspections/<id:inspection_id>/photos"): "401 ok 404 403 403 403",
    ("GET", f"{V1}/inspections/<id:inspection_id>/photos"): OWNER_OR_DISTRICT,
    ("GET", f"{V1}/inspections/<id:inspection_id>/photos/<id:photo_id>"): OWNER_OR_DISTRICT,
    ("GET", f"{V1}/inspections/<id:inspection_id>/photos/<id:photo_id>/preview"): OWNER_OR_DISTRICT,
    ("GET", f"{V1}/inspections/<id:inspection_id>/history"): OWNER_OR_DISTRICT,
    # Only the author resubmits (the owner's is a 409 here: it was never returned).
    ("POST", f"{V1}/inspections/<id:inspection_id>/resubmit"): "401 ok 404 403 403 403",
    ("GET", f"{V1}/savings"): SIGNED_IN,
    ("POST", f"{V1}/savings"): VOLUNTEERS,
    ("GET", f"{V1}/savings/totals"): SIGNED_IN,
    ("GET", f"{V1}/savings/export.csv"): STAFF,
    ("GET", f"{V1}/savings/export.xlsx"): STAFF,
    ("GET", f"{V1}/savings/<id:saving_id>"): OWNER_OR_DISTRICT,
    ("POST", f"{V1}/savings/<id:saving_id>/review"): DISTRICT_REVIEW,
    ("GET", f"{V1}/savings/<id:saving_id>/history"): OWNER_OR_DISTRICT,
    ("GET", f"{V1}/alerts"): SIGNED_IN,
    # An inbox is its owner's: the volunteers, another inspector and the admins do not reach it.
    ("POST", f"{V1}/alerts/<id:alert_id>/read"): "401 404 404 ok 404 404",
    ("GET", f"{V1}/jobs"): ADMIN,
    ("POST", f"{V1}/jobs/<id:job_id>/retry"): ADMIN,
    ("GET", f"{V1}/audit"): ADMIN,
    ("GET", f"{V1}/audit/verify"): ADMIN,
    ("POST", f"{V1}/audit/verifications"): ADMIN,
    ("GET", f"{V1}/audit/verifications/<id:verification_id>"): ADMIN,
    ("GET", f"{V1}/sync"): SIGNED_IN,
    ("GET", f"{V1}/client-config"): PUBLIC,
    ("POST", f"{V1}/devices"): SIGNED_IN,
    # volunteer_owner's device: the owner removes it; to everyone else it does not exist.
    ("DELETE", f"{V1}/devices/<id:device_id>"): "401 ok 404 404 404 404",
    # The volunteers' app: static files; what it shows comes from the API as whoever signed in.
    ("GET", "/app/"): PUBLIC,
    ("GET", "/app/sw.js"): PUBLIC,
    ("GET", "/app/<path:asset>"): PUBLIC,
}

SITE_CSV = ("name,kind,district,address,lat,lon,geofence_radius_m,budget_kzt,contractor,contract_number,"
            "planned_completion,status\nSchool,school,taraz,,42.9,71.37,,1000000,,,,\n")


# Pages for people take a cookie session, not a token: their matrix is tests/console/test_console_access.py.
PAGE_PREFIXES = ("/console/", "/static/")


def url_map_endpoints(app) -> set[tuple[str, str]]:
    """(method, rule) for every API route the app serves, HEAD and OPTIONS aside (Flask answers those itself)."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) & HTTP_METHODS if not rule.rule.startswith(PAGE_PREFIXES)}


def outcome(status: int) -> str:
    if status in (401, 403, 404):
        return str(status)
    if status >= 500:
        return f"server error {status}"
    return "ok"


class World:
    """The six callers and the objects the paths point at."""

    def __init__(self, app, client, accounts: dict, ids: dict):
        self.app, self.client, self.accounts, self.ids = app, client, accounts, ids

    def fresh_tokens(self, role: str) -> dict:
        """A session of the caller's own per request, so logout and refresh leave the others intact."""
        from volunteer_api.auth.services import login

        with self.app.app_context():
            return login(login=self.accounts[role].login, password=PASSWORD, address="127.0.0.1", user_agent="matrix")[1]

    def headers(self, role: str, path: str) -> dict:
        if role == "anonymous":
            return {}
        if path.endswith("/auth/refresh"):
            return {"Authorization": f"Bearer {self.fresh_tokens(role)['refresh_token']}"}
        if path.endswith("/auth/logout"):
            return {"Authorization": f"Bearer {self.fresh_tokens(role)['access_token']}"}
        return self.accounts[role].headers

    def url(self, rule: str) -> str:
        # A reset ends the account's sessions and changes its password: it targets accounts of its own.
        ids = {**self.ids, **self.ids["reset_targets"]} if rule.endswith("/reset-password") else self.ids

        def fill(match):
            name = match.group(1).split(":")[-1]
            return ids[name]

        return re.sub(r"<([^>]+)>", fill, rule)

    def request_kwargs(self, method: str, rule: str) -> dict:
        """A valid request for the endpoint, new each time (fresh phone numbers and client_uuids)."""
        site_id = self.ids["site_id"]
        bodies = {
            f"{V1}/auth/login": lambda: {"json": {"login": self.accounts["volunteer_owner"].login, "password": PASSWORD}},
            f"{V1}/auth/password": lambda: {"json": {"current_password": "not the password",
                                                     "new_password": "a fresh passphrase 77"}},
            f"{V1}/volunteers": lambda: {"json": {"full_name": "New Volunteer", "phone": next_phone(), "district": "taraz"}},
            f"{V1}/volunteers/import": lambda: {"query_string": {"dry_run": "true"}, "content_type": "multipart/form-data",
                                                "data": {"file": (io.BytesIO(
                                                    f"full_name,phone,email,district\nA B,{next_phone()},,taraz\n".encode()),
                                                    "people.csv")}},
            f"{V1}/volunteers/<id:volunteer_id>": lambda: {"json": {"full_name": "Renamed Volunteer"}},
            f"{V1}/inspectors": lambda: {"json": {"full_name": "New Inspector", "email": f"i{uuid.uuid4().hex[:8]}@example.kz",
                                                  "districts": ["shu"], "password": PASSWORD}},
            f"{V1}/inspectors/<id:inspector_id>": lambda: {"json": {"full_name": "Renamed Inspector"}},
            f"{V1}/sites": lambda: {"json": site_body()},
            f"{V1}/sites/import": lambda: {"query_string": {"dry_run": "true"}, "content_type": "multipart/form-data",
                                           "data": {"file": (io.BytesIO(SITE_CSV.encode()), "sites.csv")}},
            f"{V1}/sites/<id:site_id>": lambda: {"json": {"contractor": "Another LLP"}},
            f"{V1}/inspections": lambda: {"json": inspection_body(site_id)},
            f"{V1}/inspections/<id:inspection_id>/review": lambda: {"json": {"decision": "confirmed", "comment": "Seen."}},
            f"{V1}/inspections/<id:inspection_id>/resubmit": lambda: {"json": {"notes": "Added the photos."}},
            f"{V1}/inspections/<id:inspection_id>/referral": lambda: {"json": {
                "channel": "eotinish", "case_number": "E-1", "referred_at": format_utc(utcnow())}},
            f"{V1}/inspections/<id:inspection_id>/resolution": lambda: {"json": {
                "outcome": "fixed", "comment": "Fixed.", "resolved_at": format_utc(utcnow())}},
            f"{V1}/inspections/<id:inspection_id>/photos": lambda: {
                "content_type": "multipart/form-data", "data": {"file": (io.BytesIO(image_bytes()), "photo.jpg")}},
            f"{V1}/savings": lambda: {"json": {"client_uuid": str(uuid.uuid4()), "site_id": site_id,
                                               "amount_kzt": "1000.00", "category": "other", "description": "Saved."}},
            f"{V1}/savings/<id:saving_id>/review": lambda: {"json": {"decision": "approved", "comment": "Verified."}},
            f"{V1}/devices": lambda: {"json": {"platform": "android", "push": {"token": uuid.uuid4().hex}}},
        }
        if method in ("GET", "DELETE") or rule not in bodies:
            return {}
        return bodies[rule]()


@pytest.fixture
def world(app, client, make_admin, make_volunteer, make_inspector, run_jobs):
    from volunteer_api.alerts.models import Alert
    from volunteer_api.alerts.services import create_alerts
    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob

    accounts = {
        "volunteer_owner": make_volunteer("taraz"),
        "volunteer_other": make_volunteer("taraz"),
        "inspector_district": make_inspector(["taraz"]),
        "inspector_other": make_inspector(["merke"]),
        "admin": make_admin(),
    }
    owner = accounts["volunteer_owner"]
    site = client.post(f"{V1}/sites", headers=accounts["admin"].headers, json=site_body()).get_json()
    inspection = client.post(f"{V1}/inspections", headers=owner.headers, json=inspection_body(site["id"])).get_json()
    photo = client.post(f"{V1}/inspections/{inspection['id']}/photos", headers=owner.headers,
                        data={"file": (io.BytesIO(image_bytes(size=(640, 480))), "photo.jpg")},
                        content_type="multipart/form-data").get_json()
    saving = client.post(f"{V1}/savings", headers=owner.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "250000.00",
        "category": "overpricing_prevented", "description": "Cement priced at twice the market."}).get_json()
    run_jobs()
    with app.app_context():
        create_alerts(kind="inspection_flagged", event_key=f"matrix:{inspection['id']}", subject_type="inspection",
                      subject_id=inspection["id"], recipients=[int(accounts["inspector_district"].id)])
        db.session.commit()
        alert_id = db.session.scalars(db.select(Alert.id).where(
            Alert.recipient_id == int(accounts["inspector_district"].id))).first()
        job_id = db.session.scalars(db.select(OutboxJob.id).order_by(OutboxJob.id)).first()
        verification_id = start_full_verification(requested_by_id=None).id
        db.session.commit()
    device = client.post(f"{V1}/devices", headers=owner.headers,
                         json={"platform": "ios", "push": {"token": uuid.uuid4().hex}}).get_json()
    run_jobs()
    ids = {"site_id": site["id"], "device_id": device["id"], "inspection_id": inspection["id"], "saving_id": saving["id"],
           "photo_id": photo["id"], "volunteer_id": owner.id, "inspector_id": accounts["inspector_district"].id,
           "alert_id": str(alert_id), "job_id": str(job_id), "verification_id": str(verification_id), "filename": "swagger-ui.css", "asset": "app.css",
           "reset_targets": {"volunteer_id": make_volunteer("taraz").id, "inspector_id": make_inspector(["taraz"]).id}}
    return World(app, client, accounts, ids)


def test_every_endpoint_has_a_matrix_row(app):
    missing = sorted(url_map_endpoints(app) - set(MATRIX), key=lambda e: (e[1], e[0]))
    assert missing == [], f"decide who may call these and add them to MATRIX: {missing}"


def test_the_matrix_names_no_endpoint_that_is_gone(app):
    assert sorted(set(MATRIX) - url_map_endpoints(app)) == []


def test_every_row_names_every_role_with_a_known_outcome():
    for endpoint, row in MATRIX.items():
        outcomes = row.split()
        assert len(outcomes) == len(ROLES) and set(outcomes) <= {"401", "403", "404", "ok"}, endpoint


def test_each_role_gets_exactly_the_outcome_the_matrix_gives(app, world, run_jobs):
    mismatches = []
    for (method, rule), row in sorted(MATRIX.items(), key=lambda item: (item[0][1], item[0][0])):
        for role, expected in zip(ROLES, row.split()):
            response = world.client.open(world.url(rule), method=method, headers=world.headers(role, rule),
                                         **world.request_kwargs(method, rule))
            body = response.get_data().decode("utf-8", "replace")  # drains a streamed export
            response.close()
            if outcome(response.status_code) != expected:
                mismatches.append(f"{method} {rule} as {role}: expected {expected}, got {response.status_code} {body[:200]}")
            if MATRIX_TRACE:
                print(method, rule, role, response.status_code)
            if expected in ("401", "403", "404"):
                assert response.content_type == "application/problem+json", (method, rule, role)
    run_jobs()
    assert mismatches == []


def test_a_volunteer_lists_only_their_own_inspections_and_savings(client, world):
    owner, other = world.accounts["volunteer_owner"], world.accounts["volunteer_other"]
    for listing in ("inspections", "savings"):
        mine = client.get(f"{V1}/{listing}", headers=owner.headers).get_json()["items"]
        assert [item["volunteer_id"] for item in mine] == [owner.id]
        # Asking for the owner's by id does not widen another volunteer's view.
        theirs = client.get(f"{V1}/{listing}?volunteer_id={owner.id}", headers=other.headers).get_json()["items"]
        assert theirs == [], listing
    synced = client.get(f"{V1}/sync", headers=other.headers).get_json()
    assert synced["inspections"] == [] and synced["savings"] == []


def test_an_inspector_lists_only_their_districts_work(client, world):
    covering, other = world.accounts["inspector_district"], world.accounts["inspector_other"]
    for listing, seeded in (("inspections", "inspection_id"), ("savings", "saving_id")):
        listed = client.get(f"{V1}/{listing}", headers=covering.headers).get_json()["items"]
        assert [item["id"] for item in listed] == [world.ids[seeded]]
        assert client.get(f"{V1}/{listing}", headers=other.headers).get_json()["items"] == [], listing
        assert client.get(f"{V1}/{listing}?district=taraz", headers=other.headers).get_json()["items"] == [], listing
