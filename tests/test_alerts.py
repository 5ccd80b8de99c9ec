"""The inbox: one alert per inspector per flagged inspection, read in the reader's language."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.alert_helpers import alert_counts, flag_inspection, make_site
from volunteer_api.alerts import services
from volunteer_api.alerts.models import Alert
from volunteer_api.audit.models import AuditEvent
from volunteer_api.extensions import db
from volunteer_api.people.models import User


@pytest.fixture
def site(app_ctx):
    return make_site(district="taraz", name="Школа №5")


def test_flagged_inspection_alerts_each_active_inspector_of_its_district_once_within_5_seconds(
        app, site, make_inspector, volunteer, run_jobs):
    first, second = make_inspector(["taraz"]), make_inspector(["taraz", "merke"])
    elsewhere, gone = make_inspector(["merke"]), make_inspector(["taraz"])
    db.session.execute(update(User).where(User.id == int(gone.id)).values(active=False))
    db.session.commit()

    inspection_id = flag_inspection(volunteer_id=volunteer.id, site_id=site)
    run_jobs(lambda: len(alert_counts()) == 2, timeout=5)

    assert alert_counts() == {int(first.id): 1, int(second.id): 1}
    # The job running again (a redelivery) adds nothing.
    assert services.notify_inspection_flagged(inspection_id=inspection_id) == 0
    db.session.commit()
    assert alert_counts() == {int(first.id): 1, int(second.id): 1}
    assert int(elsewhere.id) not in alert_counts()


def test_a_district_without_inspectors_alerts_the_admins(app, site, make_admin, make_inspector, volunteer, run_jobs):
    admins = [make_admin(), make_admin()]
    make_inspector(["merke"])
    flag_inspection(volunteer_id=volunteer.id, site_id=site)
    run_jobs(lambda: len(alert_counts()) == 2, timeout=5)
    assert alert_counts() == {int(a.id): 1 for a in admins}


def test_an_inspection_that_is_not_flagged_alerts_nobody(app, site, inspector, volunteer, run_jobs):
    inspection_id = flag_inspection(volunteer_id=volunteer.id, site_id=site, flagged=False)
    run_jobs()
    assert services.notify_inspection_flagged(inspection_id=inspection_id) == 0
    assert alert_counts() == {}


def test_inbox_lists_my_alerts_newest_first_in_my_language_with_a_cursor(
        app, client, site, make_inspector, volunteer, run_jobs):
    me, other = make_inspector(["taraz"]), make_inspector(["merke"])
    ids = []
    for made in range(1, 4):  # one at a time: two worker threads could otherwise alert them in either order
        ids.append(flag_inspection(volunteer_id=volunteer.id, site_id=site))
        run_jobs(lambda made=made: alert_counts().get(int(me.id)) == made, timeout=5)

    page = client.get("/api/v1/alerts?limit=2", headers={**me.headers, "Accept-Language": "en"}).get_json()
    assert [item["subject"] for item in page["items"]] == [{"type": "inspection", "id": str(i)} for i in ids[:0:-1]]
    first = page["items"][0]
    assert first["kind"] == "inspection_flagged" and first["read_at"] is None and first["created_at"].endswith("Z")
    assert first["message"] == "An inspection of “Школа №5” (Taraz city) was flagged: high severity, safety violations."
    rest = client.get(f"/api/v1/alerts?limit=2&cursor={page['next_cursor']}", headers=me.headers).get_json()
    assert [item["subject"]["id"] for item in rest["items"]] == [str(ids[0])] and rest["next_cursor"] is None
    assert rest["items"][0]["message"].startswith("Инспекция объекта «Школа №5»")
    kazakh = client.get("/api/v1/alerts", headers={**me.headers, "Accept-Language": "kk"}).get_json()
    assert kazakh["items"][0]["message"].startswith("«Школа №5» нысанын")
    assert client.get("/api/v1/alerts", headers=other.headers).get_json() == {"items": [], "next_cursor": None}


def test_reading_an_alert_is_idempotent_audited_and_filters_unread(app, client, site, inspector, volunteer, run_jobs):
    for _ in range(2):
        flag_inspection(volunteer_id=volunteer.id, site_id=site)
    run_jobs(lambda: alert_counts().get(int(inspector.id)) == 2, timeout=5)
    alert_id = client.get("/api/v1/alerts", headers=inspector.headers).get_json()["items"][0]["id"]

    first = client.post(f"/api/v1/alerts/{alert_id}/read", headers=inspector.headers)
    again = client.post(f"/api/v1/alerts/{alert_id}/read", headers=inspector.headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json()["read_at"] and again.get_json()["read_at"] == first.get_json()["read_at"]
    unread = client.get("/api/v1/alerts?unread=true", headers=inspector.headers).get_json()["items"]
    assert len(unread) == 1 and unread[0]["id"] != alert_id
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.read")).all()
    assert [e.object_id for e in events] == [alert_id]


def test_someone_elses_alert_is_404_and_a_volunteers_inbox_holds_only_their_own(
        app, client, site, inspector, make_inspector, volunteer, run_jobs):
    flag_inspection(volunteer_id=volunteer.id, site_id=site)
    run_jobs(lambda: alert_counts().get(int(inspector.id)) == 1, timeout=5)
    alert_id = client.get("/api/v1/alerts", headers=inspector.headers).get_json()["items"][0]["id"]
    stranger = make_inspector(["taraz"])
    assert client.post(f"/api/v1/alerts/{alert_id}/read", headers=stranger.headers).status_code == 404
    assert client.post("/api/v1/alerts/nope/read", headers=stranger.headers).status_code == 404
    assert client.get("/api/v1/alerts", headers=volunteer.headers).get_json()["items"] == []
    assert client.post(f"/api/v1/alerts/{alert_id}/read", headers=volunteer.headers).status_code == 404
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/api/v1/alerts?unread=maybe", headers=inspector.headers).status_code == 422
    assert db.session.get(Alert, int(alert_id)).read_at is None


def test_an_unreviewed_flag_escalates_to_the_admins_once(app, site, make_admin, inspector, volunteer, run_jobs):
    admin = make_admin()
    stale = flag_inspection(volunteer_id=volunteer.id, site_id=site, received_ago=timedelta(hours=49))
    flag_inspection(volunteer_id=volunteer.id, site_id=site, received_ago=timedelta(hours=47))
    reviewed = flag_inspection(volunteer_id=volunteer.id, site_id=site, received_ago=timedelta(hours=72))
    from volunteer_api.inspections.models import Inspection

    db.session.execute(update(Inspection).where(Inspection.id == reviewed).values(status="confirmed"))
    db.session.commit()

    # The beat may run the sweep too (PostgreSQL run): either way there is exactly one escalation.
    services.escalate_unreviewed()
    services.escalate_unreviewed()
    alerts = db.session.scalars(select(Alert).where(Alert.kind == "escalation")).all()
    assert [(a.recipient_id, a.subject_id, a.event_key) for a in alerts] == [
        (int(admin.id), str(stale), f"escalation:inspection:{stale}")]
    assert alerts[0].params["hours"] == 48
    run_jobs()


def test_a_pending_savings_report_alerts_the_districts_inspectors(app, client, site, inspector, volunteer, run_jobs):
    from volunteer_api import jobs
    from volunteer_api.savings.models import SavingsReport

    report = SavingsReport(client_uuid="6f1c1f0e-6b0b-4a53-9d9c-1b4d4c1e2a11", request_hash="0" * 64,
                           volunteer_id=int(volunteer.id), site_id=site, district="taraz", amount_tiyn=25_000_000,
                           category="contract_reduced", description="Смета снижена")
    db.session.add(report)
    db.session.flush()
    jobs.enqueue("alerts.notify_savings_pending", saving_id=report.id)
    db.session.commit()
    run_jobs(lambda: alert_counts("savings_pending").get(int(inspector.id)) == 1, timeout=5)
    item = client.get("/api/v1/alerts", headers={**inspector.headers, "Accept-Language": "en"}).get_json()["items"][0]
    assert item["message"] == "A savings report of 250000.00 KZT for “Школа №5” (Taraz city) awaits verification."
    assert item["subject"] == {"type": "saving", "id": str(report.id)}


def test_a_burst_about_one_site_is_coalesced_and_still_covers_each_inspection_once(
        app, client, site, make_inspector, volunteer, run_jobs):
    from tests.alert_helpers import covered_inspections
    from volunteer_api.alerts.services import notify_inspection_flagged
    from volunteer_api.extensions import db

    inspectors = [make_inspector(["taraz"]), make_inspector(["taraz"])]
    burst = [flag_inspection(volunteer_id=volunteer.id, site_id=site) for _ in range(30)]
    other_site = make_site(district="taraz", name="Детсад №2")
    elsewhere = flag_inspection(volunteer_id=volunteer.id, site_id=other_site)
    everything = sorted((str(i) for i in [*burst, elsewhere]), key=int)
    run_jobs(lambda: covered_inspections() == {int(i.id): everything for i in inspectors}, timeout=10)
    # Three alerts one by one, then one for the rest of the window: 4 instead of 30, and one for the other site.
    assert alert_counts() == {int(i.id): 5 for i in inspectors}

    page = client.get("/api/v1/alerts", headers={**inspectors[0].headers, "Accept-Language": "en"}).get_json()
    [coalesced] = [item for item in page["items"] if item["subject"]["type"] == "site"]
    assert coalesced["subject"] == {"type": "site", "id": str(site)} and coalesced["kind"] == "inspection_flagged"
    assert coalesced["inspection_ids"] == [str(i) for i in burst[3:]]
    assert coalesced["message"] == "“Школа №5” (Taraz city): 27 more flagged inspections within 10 minutes."
    singles = [item["subject"] for item in page["items"] if item["subject"]["type"] == "inspection"]
    assert {s["id"] for s in singles} == {str(i) for i in [*burst[:3], elsewhere]}

    # A job that runs again (at-least-once delivery) covers nothing twice.
    with app.app_context():
        for inspection_id in (burst[0], burst[10], burst[29]):
            notify_inspection_flagged(inspection_id=inspection_id)
        db.session.commit()
        assert covered_inspections() == {int(i.id): everything for i in inspectors}


def test_coalescing_can_be_turned_off(app, site, volunteer, monkeypatch):
    from volunteer_api.alerts.services import _burst_window_start
    from volunteer_api.inspections.models import Inspection

    burst = [flag_inspection(volunteer_id=volunteer.id, site_id=site) for _ in range(6)]
    last = db.session.get(Inspection, burst[-1])
    assert _burst_window_start(last) is not None
    monkeypatch.setitem(app.config, "ALERT_BURST_AFTER", 0)
    assert _burst_window_start(last) is None
