"""Cases: referral and resolution of a confirmed inspection, each once; the fix rate; escalation."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.field_support import create_site, file_inspection
from tests.support import concurrently
from volunteer_api.alerts.models import Alert
from volunteer_api.audit.models import AuditEvent
from volunteer_api.cases.outcomes import fix_rate, median_of_histogram, recompute_outcomes
from volunteer_api.cases.services import escalate_unresolved_cases
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection
from volunteer_api.timestamps import format_utc, utcnow

V1 = "/api/v1"
REFERRAL = {"channel": "call_centre_1424", "case_number": "1424-2026-000017"}


@pytest.fixture
def site(client, admin):
    return create_site(client, admin)


def confirmed_case(client, volunteer, inspector, site_id: str) -> dict:
    inspection = file_inspection(client, volunteer, site_id, severity="high")
    response = client.post(f"{V1}/inspections/{inspection['id']}/review", headers=inspector.headers,
                           json={"decision": "confirmed", "comment": "Cracks in the foundation."})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def refer(client, account, inspection_id: str, **overrides):
    body = {**REFERRAL, "referred_at": format_utc(utcnow()), **overrides}
    return client.post(f"{V1}/inspections/{inspection_id}/referral", headers=account.headers, json=body)


def resolve(client, account, inspection_id: str, outcome="fixed", **overrides):
    body = {"outcome": outcome, "comment": "The contractor redid the foundation.", "resolved_at": format_utc(utcnow()),
            **overrides}
    return client.post(f"{V1}/inspections/{inspection_id}/resolution", headers=account.headers, json=body)


def test_an_inspection_is_a_case_only_once_confirmed(client, volunteer, inspector, site):
    filed = file_inspection(client, volunteer, site["id"], severity="high")
    assert filed["case"] is None
    assert refer(client, inspector, filed["id"]).status_code == 409
    assert resolve(client, inspector, filed["id"]).status_code == 409
    case = confirmed_case(client, volunteer, inspector, site["id"])
    assert case["case"] == {"referral": None, "resolution": None}


def test_a_referral_is_recorded_once_and_audited(client, app, volunteer, inspector, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])
    first = refer(client, inspector, case["id"], referred_at=format_utc(utcnow() - timedelta(minutes=1)))
    assert first.status_code == 200, first.get_json()
    referral = first.get_json()["case"]["referral"]
    assert (referral["channel"], referral["case_number"]) == ("call_centre_1424", "1424-2026-000017")
    second = refer(client, inspector, case["id"], channel="prosecutor")
    assert second.status_code == 409
    assert second.content_type == "application/problem+json"
    # The first referral stands; the volunteer sees it on their inspection.
    seen = client.get(f"{V1}/inspections/{case['id']}", headers=volunteer.headers).get_json()
    assert seen["case"]["referral"]["channel"] == "call_centre_1424"
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "inspection", AuditEvent.object_id == case["id"],
            AuditEvent.action == "inspection.referred")).all()
        assert len(events) == 1 and events[0].after["case_number"] == "1424-2026-000017"
        assert events[0].actor_id == int(inspector.id)


def test_a_case_never_referred_can_be_resolved_once(client, app, volunteer, inspector, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])
    first = resolve(client, inspector, case["id"], outcome="unfounded")
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["case"]["referral"] is None
    assert first.get_json()["case"]["resolution"]["outcome"] == "unfounded"
    assert resolve(client, inspector, case["id"], outcome="fixed").status_code == 409
    # Referred after its resolution: still allowed, still once.
    assert refer(client, inspector, case["id"]).status_code == 200
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "inspection", AuditEvent.object_id == case["id"]).order_by(AuditEvent.id)).all()
        assert actions == ["inspection.filed", "inspection.confirmed", "inspection.resolved", "inspection.referred"]
    history = client.get(f"{V1}/inspections/{case['id']}/history", headers=volunteer.headers).get_json()["items"]
    assert [(item["action"], item["by"]["id"], item["comment"]) for item in history][2:] == [
        ("resolved", inspector.id, "The contractor redid the foundation."),
        ("referred", inspector.id, "call_centre_1424 1424-2026-000017")]


def test_only_the_districts_inspector_or_an_admin_acts_on_a_case(client, volunteer, make_inspector, inspector,
                                                                  admin, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])
    other = make_inspector(["merke"])
    assert refer(client, other, case["id"]).status_code == 404
    assert resolve(client, other, case["id"]).status_code == 404
    assert refer(client, volunteer, case["id"]).status_code == 403
    assert refer(client, admin, case["id"]).status_code == 200
    assert resolve(client, admin, case["id"]).status_code == 200


def test_bad_referrals_and_resolutions_are_422_and_change_nothing(client, volunteer, inspector, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])
    bad = [
        ({"channel": "newspaper"}, "channel"),
        ({"case_number": ""}, "case_number"),
        ({"referred_at": "2026-05-14T10:30:00"}, "referred_at"),
        ({"referred_at": format_utc(utcnow() + timedelta(hours=1))}, "referred_at"),
        ({"surprise": 1}, "surprise"),
    ]
    for change, field in bad:
        response = refer(client, inspector, case["id"], **change)
        assert response.status_code == 422, change
        assert field in response.get_json()["errors"], (change, response.get_json())
    before_confirmation = format_utc(utcnow() - timedelta(days=1))
    response = resolve(client, inspector, case["id"], resolved_at=before_confirmation)
    assert response.status_code == 422 and "resolved_at" in response.get_json()["errors"]
    assert resolve(client, inspector, case["id"], outcome="maybe").status_code == 422
    seen = client.get(f"{V1}/inspections/{case['id']}", headers=inspector.headers).get_json()
    assert seen["case"] == {"referral": None, "resolution": None}


@pytest.mark.postgres
def test_of_concurrent_referrals_exactly_one_wins(pooled_app, client, volunteer, inspector, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])

    def post():
        return refer(pooled_app.test_client(), inspector, case["id"]).status_code

    assert sorted(concurrently(10, post)) == [200] + [409] * 9


def outcomes(client, account, **query):
    response = client.get(f"{V1}/outcomes", headers=account.headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_fix_rate_is_fixed_over_confirmed_beside_its_denominators(client, volunteer, inspector, site, run_jobs):
    assert outcomes(client, inspector)["fix_rate"] is None
    fixed = confirmed_case(client, volunteer, inspector, site["id"])
    open_case = confirmed_case(client, volunteer, inspector, site["id"])
    assert refer(client, inspector, open_case["id"]).status_code == 200
    assert resolve(client, inspector, fixed["id"]).status_code == 200
    answer = run_jobs(lambda: (a := outcomes(client, inspector))["resolved"] == 1 and a)
    assert {key: answer[key] for key in ("confirmed", "referred", "resolved", "fixed", "fix_rate")} == {
        "confirmed": 2, "referred": 1, "resolved": 1, "fixed": 1, "fix_rate": "0.50"}
    assert answer["median_days_to_fix"] == 0
    assert answer["as_of"] is not None
    taraz = next(item for item in answer["by_district"] if item["district"] == "taraz")
    assert taraz["fix_rate"] == "0.50"
    assert [item["district"] for item in answer["by_district"]] == ["taraz"]


def test_outcomes_over_a_period_sum_days_and_take_the_median_of_their_histogram(
        app, client, volunteer, inspector, admin, site):
    cases = [confirmed_case(client, volunteer, inspector, site["id"]) for _ in range(4)]
    now = utcnow()
    confirmed_at = [now - timedelta(days=40), now - timedelta(days=40), now - timedelta(days=10), now - timedelta(days=3)]
    with app.app_context():
        for case, at in zip(cases, confirmed_at):
            db.session.execute(update(Inspection).where(Inspection.id == int(case["id"])).values(reviewed_at=at))
        db.session.commit()
    for case, days in zip(cases, (1, 4, 2)):
        assert resolve(client, inspector, case["id"],
                       resolved_at=format_utc(confirmed_at[cases.index(case)] + timedelta(days=days))).status_code == 200
    with app.app_context():
        recompute_outcomes()
        db.session.commit()
    everything = outcomes(client, admin)
    assert (everything["confirmed"], everything["fixed"], everything["fix_rate"]) == (4, 3, "0.75")
    assert everything["median_days_to_fix"] == 2
    recent_day = (now - timedelta(days=20) + timedelta(hours=5)).date().isoformat()
    recent = outcomes(client, admin, **{"from": recent_day})
    assert (recent["confirmed"], recent["fixed"], recent["median_days_to_fix"]) == (2, 1, 2)
    old_day = (now - timedelta(days=20) + timedelta(hours=5)).date().isoformat()
    old = outcomes(client, admin, to=old_day)
    assert (old["confirmed"], old["fixed"], old["fix_rate"], old["median_days_to_fix"]) == (2, 2, "1.00", 2.5)
    assert outcomes(client, admin, district="merke")["confirmed"] == 0


def test_outcomes_are_for_staff_of_their_districts(client, volunteer, make_inspector):
    other = make_inspector(["merke"])
    assert client.get(f"{V1}/outcomes", headers=volunteer.headers).status_code == 403
    assert client.get(f"{V1}/outcomes?district=taraz", headers=other.headers).status_code == 404
    assert client.get(f"{V1}/outcomes?district=atlantis", headers=other.headers).status_code == 422
    assert client.get(f"{V1}/outcomes?from=2026-05-02&to=2026-05-01", headers=other.headers).status_code == 422
    assert [item["district"] for item in outcomes(client, other)["by_district"]] == ["merke"]


def test_fix_rate_and_median_arithmetic():
    assert fix_rate(1, 2) == "0.50" and fix_rate(0, 0) is None and fix_rate(2, 3) == "0.67" and fix_rate(3, 3) == "1.00"
    assert median_of_histogram({}) is None
    assert median_of_histogram({5: 1}) == 5
    assert median_of_histogram({1: 1, 4: 1}) == 2.5
    assert median_of_histogram({0: 2, 9: 1}) == 0


def test_an_unresolved_case_escalates_to_its_district_once(app, client, volunteer, inspector, make_inspector, site):
    colleague = make_inspector(["taraz"])
    make_inspector(["merke"])
    stale, resolved_case, fresh = (confirmed_case(client, volunteer, inspector, site["id"]) for _ in range(3))
    long_ago = utcnow() - timedelta(days=31)
    assert resolve(client, inspector, resolved_case["id"], resolved_at=format_utc(utcnow())).status_code == 200
    with app.app_context():
        db.session.execute(update(Inspection).where(Inspection.id.in_([int(stale["id"]), int(resolved_case["id"])]))
                           .values(reviewed_at=long_ago))
        db.session.commit()
        assert escalate_unresolved_cases() == 2
        assert escalate_unresolved_cases() == 0
        alerts = db.session.scalars(select(Alert).where(Alert.kind == "escalation")).all()
        assert sorted(alert.recipient_id for alert in alerts) == sorted([int(inspector.id), int(colleague.id)])
        assert {alert.subject_id for alert in alerts} == {stale["id"]}
    inbox = client.get(f"{V1}/alerts", headers={**colleague.headers, "Accept-Language": "en"}).get_json()["items"]
    escalations = [item for item in inbox if item["kind"] == "escalation"]
    assert len(escalations) == 1
    assert escalations[0]["message"] == "A violation at “School No. 7” (Taraz city) was confirmed 30 days ago and is still unresolved."


def test_a_time_before_the_first_utc_instant_is_422_not_a_crash(client, volunteer, inspector, site):
    case = confirmed_case(client, volunteer, inspector, site["id"])
    response = refer(client, inspector, case["id"], referred_at="0001-01-01T00:01:00+02:00")
    assert response.status_code == 422 and "referred_at" in response.get_json()["errors"]


def test_the_list_answers_each_inspection_as_it_reads_alone(client, admin, volunteer, inspector, site, photo_store):
    """The list reads plain rows (inspections.services.list_inspections), the single read ORM objects: the
    same inspection must come out the same, photos (with and without an EXIF position) and case included."""
    import io

    from tests.field_support import TARAZ, gps_exif, image_bytes

    plain, returned, referred, resolved = (file_inspection(client, volunteer, site["id"], severity="high")
                                           for _ in range(4))
    for inspection_id, photo in ((plain["id"], image_bytes()), (plain["id"], image_bytes(exif=gps_exif(*TARAZ))),
                                 (resolved["id"], image_bytes(color=(1, 2, 3)))):
        response = client.post(f"{V1}/inspections/{inspection_id}/photos", headers=volunteer.headers,
                               data={"file": (io.BytesIO(photo), "photo.jpg", "image/jpeg")},
                               content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
    for inspection, decision in ((returned, "returned"), (referred, "confirmed"), (resolved, "confirmed")):
        response = client.post(f"{V1}/inspections/{inspection['id']}/review", headers=inspector.headers,
                               json={"decision": decision, "comment": "Seen."})
        assert response.status_code == 200, response.get_json()
    assert refer(client, inspector, referred["id"]).status_code == 200
    assert resolve(client, inspector, resolved["id"]).status_code == 200

    for account in (volunteer, inspector, admin):
        listed = client.get(f"{V1}/inspections?limit=10", headers=account.headers).get_json()["items"]
        assert [item["id"] for item in listed] == [resolved["id"], referred["id"], returned["id"], plain["id"]]
        for item in listed:
            alone = client.get(f"{V1}/inspections/{item['id']}", headers=account.headers).get_json()
            assert item == alone
    by_id = {item["id"]: item for item in listed}
    assert len(by_id[plain["id"]]["photos"]) == 2 and "exif_location" in by_id[plain["id"]]["photos"][1]
    assert by_id[referred["id"]]["case"]["referral"]["case_number"] == REFERRAL["case_number"]
    assert by_id[resolved["id"]]["case"]["resolution"]["outcome"] == "fixed"
    assert by_id[returned["id"]]["case"] is None and by_id[returned["id"]]["status"] == "returned"
