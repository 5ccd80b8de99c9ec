"""The review loop: an inspector returns an inspection, its volunteer completes and resubmits it, and the
district is alerted again; the history and /sync tell each state change."""
import io

import pytest
from sqlalchemy import func, select

from tests.alert_helpers import alert_counts, flag_inspection, make_site, make_user
from tests.field_support import create_site, file_inspection, image_bytes
from tests.support import concurrently, wait_for
from tests.test_alert_channels import alert_app, smtp  # noqa: F401 - fixtures
from volunteer_api.alerts.models import Alert
from volunteer_api.extensions import db

INSPECTIONS = "/api/v1/inspections"


@pytest.fixture
def site(client, admin):
    return create_site(client, admin)


@pytest.fixture
def flagged(client, volunteer, site):
    return file_inspection(client, volunteer, site["id"], severity="high")


def review(client, account, inspection_id, decision, comment="Checked."):
    return client.post(f"{INSPECTIONS}/{inspection_id}/review", headers={**account.headers, "Accept-Language": "en"},
                       json={"decision": decision, "comment": comment})


def resubmit(client, account, inspection_id, notes=None):
    body = {} if notes is None else {"notes": notes}
    return client.post(f"{INSPECTIONS}/{inspection_id}/resubmit", headers=account.headers, json=body)


def inbox(client, account):
    response = client.get("/api/v1/alerts", headers={**account.headers, "Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_json()["items"]


def test_a_return_needs_a_comment(client, inspector, flagged):
    response = client.post(f"{INSPECTIONS}/{flagged['id']}/review", headers=inspector.headers,
                           json={"decision": "returned"})
    assert response.status_code == 422 and "comment" in response.get_json()["errors"]
    assert review(client, inspector, flagged["id"], "returned", comment="").status_code == 422


def test_a_returned_inspection_reaches_its_volunteers_own_inbox(client, inspector, volunteer, make_volunteer, flagged,
                                                               run_jobs):
    returned = review(client, inspector, flagged["id"], "returned", comment="Add a photo of the roof.")
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    run_jobs(lambda: inbox(client, volunteer))
    (alert,) = inbox(client, volunteer)
    assert alert["kind"] == "inspection_returned" and alert["subject"] == {"type": "inspection", "id": flagged["id"]}
    assert "Add a photo of the roof." in alert["message"] and alert["message"].startswith("Your inspection")
    assert client.post(f"/api/v1/alerts/{alert['id']}/read", headers=volunteer.headers).status_code == 200
    other = make_volunteer()
    assert inbox(client, other) == []
    assert client.post(f"/api/v1/alerts/{alert['id']}/read", headers=other.headers).status_code == 404
    # The inspector's inbox holds the flag, not the volunteer's alert.
    assert [item["kind"] for item in inbox(client, inspector)] == ["inspection_flagged"]


def test_a_returned_inspection_cannot_be_reviewed_until_resubmitted(client, inspector, admin, volunteer, flagged):
    assert review(client, inspector, flagged["id"], "returned", comment="Which floor?").status_code == 200
    for decision in ("confirmed", "dismissed", "returned"):
        refused = review(client, admin, flagged["id"], decision)
        assert refused.status_code == 409 and "resubmit" in refused.get_json()["detail"]
    assert resubmit(client, volunteer, flagged["id"], notes="Second floor.").status_code == 200
    assert review(client, inspector, flagged["id"], "confirmed").status_code == 200
    assert review(client, admin, flagged["id"], "dismissed").status_code == 409


def test_the_volunteer_adds_photos_and_resubmits_once_per_return(app, client, inspector, volunteer, make_volunteer,
                                                                  flagged, run_jobs):
    url = f"{INSPECTIONS}/{flagged['id']}"
    assert resubmit(client, volunteer, flagged["id"]).status_code == 409  # never returned
    review(client, inspector, flagged["id"], "returned", comment="The photo is missing.")
    photo = client.post(f"{url}/photos", headers=volunteer.headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(image_bytes()), "roof.jpg")})
    assert photo.status_code == 201
    assert resubmit(client, make_volunteer(), flagged["id"]).status_code == 404
    assert resubmit(client, inspector, flagged["id"]).status_code == 403
    again = resubmit(client, volunteer, flagged["id"], notes="Photo added.")
    assert again.status_code == 200
    body = again.get_json()
    assert body["status"] == "submitted" and body["resubmissions"] == 1 and len(body["photos"]) == 1
    assert resubmit(client, volunteer, flagged["id"]).status_code == 409  # once per return
    run_jobs(lambda: any(a["kind"] == "inspection_resubmitted" for a in inbox(client, inspector)))
    kinds = [item["kind"] for item in inbox(client, inspector)]
    assert kinds == ["inspection_resubmitted", "inspection_flagged"]
    assert "resubmitted" in inbox(client, inspector)[0]["message"]

    # A second round: returned again, resubmitted again: one more alert each, told apart by their numbers.
    review(client, inspector, flagged["id"], "returned", comment="Still blurry.")
    assert resubmit(client, volunteer, flagged["id"]).status_code == 200
    run_jobs(lambda: len(inbox(client, inspector)) == 3 and len(inbox(client, volunteer)) == 2)
    with app.app_context():
        keys = sorted(db.session.scalars(select(Alert.event_key)))
    fid = flagged["id"]
    assert keys == sorted([f"inspection:{fid}", f"inspection:{fid}:return:1", f"inspection:{fid}:return:2",
                           f"inspection:{fid}:resubmission:1", f"inspection:{fid}:resubmission:2"])


def test_the_history_tells_every_state_change_oldest_first(client, inspector, volunteer, make_volunteer, make_inspector,
                                                           flagged):
    review(client, inspector, flagged["id"], "returned", comment="Add the contractor's sign.")
    resubmit(client, volunteer, flagged["id"], notes="Sign photographed.")
    review(client, inspector, flagged["id"], "confirmed", comment="Violation confirmed.")
    history = client.get(f"{INSPECTIONS}/{flagged['id']}/history", headers=volunteer.headers)
    assert history.status_code == 200
    items = history.get_json()["items"]
    assert [(i["action"], i["by"]["id"], i["by"]["role"], i["comment"]) for i in items] == [
        ("filed", volunteer.id, "volunteer", None),
        ("returned", inspector.id, "inspector", "Add the contractor's sign."),
        ("resubmitted", volunteer.id, "volunteer", "Sign photographed."),
        ("confirmed", inspector.id, "inspector", "Violation confirmed."),
    ]
    assert items[0]["by"]["full_name"] == "Volunteer Volunteerov"
    assert [i["at"] for i in items] == sorted(i["at"] for i in items) and items[0]["at"].endswith("Z")
    for outsider in (make_volunteer(), make_inspector(["merke"])):
        assert client.get(f"{INSPECTIONS}/{flagged['id']}/history", headers=outsider.headers).status_code == 404


def test_a_returned_flag_stays_open_on_its_site_until_decided(client, inspector, volunteer, site, flagged):
    open_flags = lambda: client.get(f"/api/v1/sites/{site['id']}", headers=inspector.headers).get_json()["open_flags"]  # noqa: E731
    assert open_flags() == 1
    review(client, inspector, flagged["id"], "returned", comment="More, please.")
    assert open_flags() == 1
    resubmit(client, volunteer, flagged["id"])
    review(client, inspector, flagged["id"], "dismissed")
    assert open_flags() == 0


def test_a_savings_reports_history(client, inspector, volunteer, make_volunteer, site):
    import uuid

    report = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "1000.00", "category": "other",
        "description": "Saved."}).get_json()
    client.post(f"/api/v1/savings/{report['id']}/review", headers=inspector.headers,
                json={"decision": "approved", "comment": "Verified with the contract."})
    items = client.get(f"/api/v1/savings/{report['id']}/history", headers=inspector.headers).get_json()["items"]
    assert [(i["action"], i["by"]["role"], i["comment"]) for i in items] == [
        ("filed", "volunteer", None), ("approved", "inspector", "Verified with the contract.")]
    assert client.get(f"/api/v1/savings/{report['id']}/history", headers=make_volunteer().headers).status_code == 404


def test_sync_tells_the_phone_each_status_change_in_commit_order(client, inspector, volunteer, flagged):
    first = client.get("/api/v1/sync", headers=volunteer.headers).get_json()
    seen = []
    cursor = first["next_cursor"]
    for step in (lambda: review(client, inspector, flagged["id"], "returned", comment="More, please."),
                 lambda: resubmit(client, volunteer, flagged["id"])):
        assert step().status_code == 200
        changes = client.get(f"/api/v1/sync?since={cursor}", headers=volunteer.headers).get_json()
        (item,) = changes["inspections"]
        seen.append((item["status"], item["resubmissions"], item["review_comment"]))
        cursor = changes["next_cursor"]
    assert seen == [("returned", 0, "More, please."), ("submitted", 1, "More, please.")]
    assert client.get(f"/api/v1/sync?since={cursor}", headers=volunteer.headers).get_json()["inspections"] == []


def test_a_returned_inspection_is_emailed_to_a_volunteer_with_an_address(alert_app, smtp):  # noqa: F811
    from volunteer_api.inspections.services import return_inspection
    from volunteer_api.people.models import User

    mailbox, smtp_port = smtp
    application = alert_app({"SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"})
    with application.app_context():
        inspector = make_user("inspector")
        volunteer = make_user("volunteer", email="aliya@example.kz")
        inspection_id = flag_inspection(volunteer_id=volunteer, site_id=make_site())
        return_inspection(str(inspection_id), reviewer=db.session.get(User, inspector),
                          comment="Нужна фотография крыши.")
        wait_for(lambda: any(rcpt == ["aliya@example.kz"] for rcpt, _ in mailbox.messages), timeout=10)
        mail = next(mail for rcpt, mail in mailbox.messages if rcpt == ["aliya@example.kz"])
        assert mail["Subject"].startswith("Инспекция возвращена") and "Нужна фотография крыши." in mail.get_content()
        assert alert_counts("inspection_returned") == {volunteer: 1}


@pytest.mark.postgres
def test_20_concurrent_resubmissions_give_one_200_and_one_alert_per_inspector(app, pooled_app, client, make_inspector,
                                                                              volunteer, flagged, run_jobs):
    inspectors = [make_inspector(["taraz"]) for _ in range(3)]
    review(client, inspectors[0], flagged["id"], "returned", comment="Add the photos.")
    statuses = concurrently(20, lambda: pooled_app.test_client().post(
        f"{INSPECTIONS}/{flagged['id']}/resubmit", headers=volunteer.headers, json={"notes": "Done."}).status_code)
    assert sorted(statuses) == [200] + [409] * 19
    expected = {int(account.id): 1 for account in inspectors}
    with app.app_context():
        run_jobs(lambda: alert_counts("inspection_resubmitted") == expected)
        run_jobs()
        assert alert_counts("inspection_resubmitted") == expected
        assert db.session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "inspection_resubmitted")) == 3
