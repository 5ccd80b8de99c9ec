import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.field_support import (
    CLEAN_CHECKLIST,
    FIVE_KM_NORTH,
    TARAZ,
    create_site,
    file_inspection,
    inspection_body,
)
from tests.support import concurrently
from volunteer_api.alerts.models import Alert
from volunteer_api.audit.models import AuditEvent
from volunteer_api.extensions import db
from volunteer_api.inspections.flags import flag_reasons, is_on_site
from volunteer_api.inspections.models import Inspection
from volunteer_api.jobs import OutboxJob
from volunteer_api.timestamps import format_utc, utcnow

INSPECTIONS = "/api/v1/inspections"


@pytest.fixture
def site(client, admin):
    return create_site(client, admin)


def test_on_site_inspection_is_filed_unflagged(client, volunteer, site):
    response = client.post(INSPECTIONS, headers=volunteer.headers, json=inspection_body(site["id"], notes="all fine"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "submitted" and body["on_site"] is True and body["flagged"] is False
    assert body["flag_reasons"] == [] and body["distance_m"] == 0
    assert body["site_id"] == site["id"] and body["volunteer_id"] == volunteer.id and body["district"] == "taraz"
    assert body["location"] == {"lat": TARAZ[0], "lon": TARAZ[1], "accuracy_m": 10.0, "mock": False}
    assert body["checklist"] == CLEAN_CHECKLIST and body["notes"] == "all fine" and body["photos"] == []


def test_inspection_5_km_away_is_flagged_off_site(client, volunteer, site):
    body = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    assert body["on_site"] is False and body["flagged"] is True and body["flag_reasons"] == ["off_site"]
    assert 4990 < body["distance_m"] < 5010


def test_accuracy_widens_the_geofence_by_at_most_200_m(client, volunteer, site):
    # 0.0036° of latitude is ~400 m: outside the 300 m fence, inside it with 150 m of accuracy.
    near = (TARAZ[0] + 0.0036, TARAZ[1])
    assert file_inspection(client, volunteer, site["id"], at=near, accuracy_m=5)["on_site"] is False
    assert file_inspection(client, volunteer, site["id"], at=near, accuracy_m=150)["on_site"] is True
    # 0.0046° is ~511 m: beyond 300 m + 200 m however poor the accuracy.
    farther = (TARAZ[0] + 0.0046, TARAZ[1])
    assert file_inspection(client, volunteer, site["id"], at=farther, accuracy_m=5000)["on_site"] is False


def test_on_site_rule_is_radius_plus_capped_accuracy():
    assert is_on_site(distance_m=500, geofence_radius_m=300, accuracy_m=200)
    assert not is_on_site(distance_m=500.1, geofence_radius_m=300, accuracy_m=10_000)
    assert not is_on_site(distance_m=310, geofence_radius_m=300, accuracy_m=5)


def test_flag_reasons_come_in_the_contract_order(client, volunteer, site):
    checklist = {**CLEAN_CHECKLIST, "safety_violations": True, "quality_issues": True}
    body = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH, mock=True, severity="critical",
                           checklist=checklist)
    assert body["flag_reasons"] == ["off_site", "mock_location", "severity", "safety_violations", "quality_issues"]


@pytest.mark.parametrize(("severity", "flagged"), [("none", False), ("low", False), ("medium", False),
                                                   ("high", True), ("critical", True)])
def test_only_high_or_critical_severity_flags(severity, flagged):
    reasons = flag_reasons(on_site=True, mock_location=False, severity=severity, checklist=CLEAN_CHECKLIST)
    assert (reasons == ["severity"]) is flagged and (reasons == []) is not flagged


@pytest.mark.parametrize("reason", ["mock_location", "safety_violations", "quality_issues"])
def test_each_flag_reason_alone_flags(client, volunteer, site, reason):
    kwargs = {"mock": True} if reason == "mock_location" else {"checklist": {**CLEAN_CHECKLIST, reason: True}}
    assert file_inspection(client, volunteer, site["id"], **kwargs)["flag_reasons"] == [reason]


def test_device_time_with_an_offset_is_stored_in_utc(client, volunteer, site):
    local = (utcnow() - timedelta(hours=1)).astimezone().replace(microsecond=0)
    from datetime import timezone

    almaty = local.astimezone(timezone(timedelta(hours=5)))
    body = file_inspection(client, volunteer, site["id"], captured_at=almaty.isoformat())
    assert body["captured_at"] == format_utc(almaty) and body["captured_at"].endswith("Z")


@pytest.mark.parametrize("shift", [timedelta(minutes=11), timedelta(days=-30, minutes=-1)])
def test_capture_time_outside_the_window_is_422(client, volunteer, site, shift):
    body = inspection_body(site["id"], captured_at=format_utc(utcnow() + shift))
    response = client.post(INSPECTIONS, headers=volunteer.headers, json=body)
    assert response.status_code == 422 and "captured_at" in response.get_json()["errors"]


def test_capture_time_inside_the_window_is_accepted(client, volunteer, site):
    for shift in (timedelta(minutes=9), timedelta(days=-29, hours=-23)):
        file_inspection(client, volunteer, site["id"], captured_at=format_utc(utcnow() + shift))


def test_bad_inspection_bodies_are_422(client, volunteer, site):
    cases = [
        ({"captured_at": "2026-05-14T10:30:00"}, "captured_at"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"location": {"lat": 42.9, "lon": 71.3}}, "location.accuracy_m"),
        ({"location": {"lat": 42.9, "lon": 71.3, "accuracy_m": -1}}, "location.accuracy_m"),
        ({"checklist": {**CLEAN_CHECKLIST, "progress_percent": 101}}, "checklist.progress_percent"),
        ({"site_id": "999999"}, "site_id"),
        ({"surprise": 1}, "surprise"),
    ]
    for change, field in cases:
        body = {**inspection_body(site["id"]), **change}
        response = client.post(INSPECTIONS, headers=volunteer.headers, json=body)
        assert response.status_code == 422, change
        assert field in response.get_json()["errors"], (change, response.get_json())


def test_only_volunteers_file_inspections(client, admin, inspector, site):
    for account in (admin, inspector):
        assert client.post(INSPECTIONS, headers=account.headers, json=inspection_body(site["id"])).status_code == 403


def test_retry_with_same_uuid_returns_the_first_inspection(client, app, volunteer, site):
    body = inspection_body(site["id"], severity="high")
    first = client.post(INSPECTIONS, headers=volunteer.headers, json=body)
    # The same instant in the phone's own offset is the same body.
    retry_body = {**body, "captured_at": body["captured_at"].replace("Z", "+00:00")}
    retry = client.post(INSPECTIONS, headers=volunteer.headers, json=retry_body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json() == first.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxJob)
                                 .where(OutboxJob.name == "alerts.notify_inspection_flagged")) == 1


def test_same_uuid_with_another_body_is_409(client, volunteer, site):
    body = inspection_body(site["id"])
    assert client.post(INSPECTIONS, headers=volunteer.headers, json=body).status_code == 201
    response = client.post(INSPECTIONS, headers=volunteer.headers, json={**body, "severity": "low"})
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


def test_two_volunteers_may_use_the_same_uuid(client, make_volunteer, site):
    body = inspection_body(site["id"])
    for account in (make_volunteer(), make_volunteer()):
        assert client.post(INSPECTIONS, headers=account.headers, json=body).status_code == 201


def test_flagged_inspection_records_its_alert_job_and_audit_event(client, app, volunteer, site):
    flagged = file_inspection(client, volunteer, site["id"], severity="high")
    file_inspection(client, volunteer, site["id"])
    with app.app_context():
        jobs = db.session.scalars(select(OutboxJob).where(OutboxJob.name.like("alerts.%"))).all()
        assert [(job.name, job.payload) for job in jobs] == [
            ("alerts.notify_inspection_flagged", {"inspection_id": int(flagged["id"])})]
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "inspection")).all()
        assert sorted(actions) == ["inspection.filed", "inspection.filed"]


def test_flagged_inspection_alerts_the_districts_inspector_once(client, app, make_inspector, volunteer, site, run_jobs):
    taraz_inspector = make_inspector(["taraz"])
    make_inspector(["merke"])
    body = inspection_body(site["id"], at=FIVE_KM_NORTH)
    inspection = client.post(INSPECTIONS, headers=volunteer.headers, json=body).get_json()
    client.post(INSPECTIONS, headers=volunteer.headers, json=body)  # a retry alerts nobody again

    def alerts():
        with app.app_context():
            return db.session.execute(select(Alert.recipient_id, Alert.kind, Alert.subject_id)).all()

    run_jobs(lambda: alerts())
    assert alerts() == [(int(taraz_inspector.id), "inspection_flagged", inspection["id"])]


def test_volunteer_sees_only_their_own_inspections(client, make_volunteer, site):
    mine, theirs = make_volunteer(), make_volunteer()
    own = file_inspection(client, mine, site["id"])
    other = file_inspection(client, theirs, site["id"])
    items = client.get(INSPECTIONS, headers=mine.headers).get_json()["items"]
    assert [item["id"] for item in items] == [own["id"]]
    assert client.get(f"{INSPECTIONS}?volunteer_id={theirs.id}", headers=mine.headers).get_json()["items"] == []
    assert client.get(f"{INSPECTIONS}/{other['id']}", headers=mine.headers).status_code == 404
    assert client.get(f"{INSPECTIONS}/{own['id']}", headers=mine.headers).status_code == 200


def test_inspector_sees_the_inspections_of_their_districts(client, admin, make_inspector, make_volunteer):
    taraz_site = create_site(client, admin)
    merke_site = create_site(client, admin, district="merke", location={"lat": 42.87, "lon": 73.18})
    volunteer = make_volunteer()
    in_taraz = file_inspection(client, volunteer, taraz_site["id"])
    in_merke = file_inspection(client, volunteer, merke_site["id"], at=(42.87, 73.18))
    inspector = make_inspector(["merke"])
    assert [i["id"] for i in client.get(INSPECTIONS, headers=inspector.headers).get_json()["items"]] == [in_merke["id"]]
    assert client.get(f"{INSPECTIONS}/{in_taraz['id']}", headers=inspector.headers).status_code == 404
    assert len(client.get(INSPECTIONS, headers=admin.headers).get_json()["items"]) == 2


def test_inspection_list_filters_and_pages(client, admin, volunteer, site):
    other_site = create_site(client, admin, name="Other")
    ids = [file_inspection(client, volunteer, site["id"], severity=s)["id"] for s in ("none", "high", "none", "critical")]
    file_inspection(client, volunteer, other_site["id"])

    def listed(query):
        response = client.get(f"{INSPECTIONS}?{query}", headers=admin.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert [i["id"] for i in listed(f"site_id={site['id']}&flagged=true")["items"]] == [ids[3], ids[1]]
    assert [i["id"] for i in listed(f"site_id={site['id']}&flagged=false")["items"]] == [ids[2], ids[0]]
    assert len(listed(f"volunteer_id={volunteer.id}&status=submitted")["items"]) == 5
    assert listed("status=confirmed")["items"] == []
    first = listed(f"site_id={site['id']}&limit=3")
    second = listed(f"site_id={site['id']}&limit=3&cursor={first['next_cursor']}")
    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1] and second["next_cursor"] is None


def test_district_inspector_reviews_an_inspection_once(client, app, make_inspector, volunteer, site):
    inspector = make_inspector(["taraz"])
    inspection = file_inspection(client, volunteer, site["id"], severity="high")
    url = f"{INSPECTIONS}/{inspection['id']}/review"
    response = client.post(url, headers=inspector.headers, json={"decision": "confirmed", "comment": "Seen it"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed" and body["review_comment"] == "Seen it"
    assert body["reviewed_by_id"] == inspector.id and body["reviewed_at"].endswith("Z")
    again = client.post(url, headers=inspector.headers, json={"decision": "dismissed", "comment": "Changed my mind"})
    assert again.status_code == 409
    assert client.get(f"{INSPECTIONS}/{inspection['id']}", headers=volunteer.headers).get_json()["status"] == "confirmed"
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.confirmed")).one()
        assert event.actor_id == int(inspector.id) and event.before == {"status": "submitted"}


def test_admin_dismisses_and_the_site_has_no_open_flag_left(client, admin, volunteer, site):
    inspection = file_inspection(client, volunteer, site["id"], severity="critical")
    assert client.get(f"/api/v1/sites/{site['id']}", headers=admin.headers).get_json()["open_flags"] == 1
    response = client.post(f"{INSPECTIONS}/{inspection['id']}/review", headers=admin.headers,
                           json={"decision": "dismissed", "comment": "Duplicate"})
    assert response.status_code == 200 and response.get_json()["status"] == "dismissed"
    assert client.get(f"/api/v1/sites/{site['id']}", headers=admin.headers).get_json()["open_flags"] == 0


def test_review_is_refused_outside_the_reviewers_districts_and_roles(client, make_inspector, volunteer, site):
    inspection = file_inspection(client, volunteer, site["id"])
    url = f"{INSPECTIONS}/{inspection['id']}/review"
    review = {"decision": "confirmed", "comment": "ok"}
    assert client.post(url, headers=make_inspector(["merke"]).headers, json=review).status_code == 404
    assert client.post(url, headers=volunteer.headers, json=review).status_code == 403
    inspector = make_inspector(["taraz"])
    assert client.post(url, headers=inspector.headers, json={"decision": "maybe", "comment": "x"}).status_code == 422
    assert client.post(url, headers=inspector.headers, json={"decision": "confirmed"}).status_code == 422
    assert client.post(f"{INSPECTIONS}/999999/review", headers=inspector.headers, json=review).status_code == 404


@pytest.mark.postgres
def test_50_identical_concurrent_posts_make_exactly_one_inspection(app, pooled_app, client, volunteer, site):
    body = inspection_body(site["id"], severity="high")

    def post():  # through PgBouncer in the PostgreSQL pass
        response = pooled_app.test_client().post(INSPECTIONS, headers=volunteer.headers, json=body)
        return response.status_code, response.get_json()

    results = concurrently(50, post)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 49 + [201], statuses
    assert len({answer["id"] for _, answer in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxJob)
                                 .where(OutboxJob.name == "alerts.notify_inspection_flagged")) == 1


@pytest.mark.postgres
def test_two_concurrent_reviews_cannot_both_win(pooled_app, client, make_inspector, volunteer, site):
    inspector = make_inspector(["taraz"])
    inspection = file_inspection(client, volunteer, site["id"])
    decisions = iter(["confirmed", "dismissed"] * 5)
    url = f"{INSPECTIONS}/{inspection['id']}/review"

    def review(decision):
        return pooled_app.test_client().post(url, headers=inspector.headers, json={"decision": decision, "comment": "x"})

    calls = [next(decisions) for _ in range(10)]
    results = concurrently(10, lambda: review(calls.pop()))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * 9
    winner = next(r.get_json() for r in results if r.status_code == 200)
    stored = client.get(f"{INSPECTIONS}/{inspection['id']}", headers=volunteer.headers).get_json()
    assert stored["status"] == winner["status"]


def test_ids_too_big_for_the_database_are_not_found(client, admin, volunteer, site):
    huge = "9" * 20
    assert client.get(f"{INSPECTIONS}/{huge}", headers=admin.headers).status_code == 404
    assert client.get(f"/api/v1/sites/{huge}", headers=admin.headers).status_code == 404
    listed = client.get(f"{INSPECTIONS}?site_id={huge}", headers=admin.headers)  # ids.Id: a 422 on the field
    assert listed.status_code == 422 and "site_id" in listed.get_json()["errors"]
    response = client.post(INSPECTIONS, headers=volunteer.headers, json=inspection_body(huge))
    assert response.status_code == 422 and "site_id" in response.get_json()["errors"]



def test_a_retry_after_the_capture_window_closed_still_answers_the_stored_inspection(client, volunteer, site, monkeypatch):
    """A phone offline for days retries an inspection it filed in time: 200 and the first one, not a 422."""
    from volunteer_api.inspections import services

    body = inspection_body(site["id"], captured_at=format_utc(utcnow() - timedelta(days=29)))
    first = client.post(INSPECTIONS, headers=volunteer.headers, json=body)
    assert first.status_code == 201
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    retry = client.post(INSPECTIONS, headers=volunteer.headers, json=body)
    assert retry.status_code == 200 and retry.get_json()["id"] == first.get_json()["id"]
    fresh = client.post(INSPECTIONS, headers=volunteer.headers, json={**body, "client_uuid": str(uuid.uuid4())})
    assert fresh.status_code == 422 and "captured_at" in fresh.get_json()["errors"]


def test_a_filing_writes_one_keyed_event_that_the_chain_seals(client, app, volunteer, site):
    """The row and its audit event are written together (one statement on PostgreSQL): the event carries
    the new inspection's id and a mac the sealer accepts; a replay writes none."""
    from volunteer_api.audit.services import seal_chain, verify_chain

    body = inspection_body(site["id"])
    first = client.post("/api/v1/inspections", headers=volunteer.headers, json=body)
    replay = client.post("/api/v1/inspections", headers=volunteer.headers, json=body)
    assert (first.status_code, replay.status_code) == (201, 200)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.filed")).all()
        assert [(event.object_id, event.actor_id) for event in events] == [(first.get_json()["id"], int(volunteer.id))]
        assert events[0].after["status"] == "submitted" and events[0].after["site_id"] == site["id"]
        seal_chain()
        db.session.commit()
        assert db.session.get(AuditEvent, events[0].id).seal_refused is None
        assert verify_chain()["ok"]
