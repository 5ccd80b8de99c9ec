"""Savings reports: filing (idempotent, exact amounts), listing by role, review once by the right person."""
import threading
import uuid

import pytest
from sqlalchemy import func, select

API = "/api/v1"


@pytest.fixture
def site(make_site) -> str:
    return make_site()


def saving_body(site: str, **overrides) -> dict:
    body = {"client_uuid": str(uuid.uuid4()), "site_id": site, "amount_kzt": "250000.00",
            "category": "overpricing_prevented", "description": "The estimate priced cement at twice the market."}
    body.update(overrides)
    return body


def file_saving(client, account, site: str, **overrides):
    return client.post(f"{API}/savings", headers=account.headers, json=saving_body(site, **overrides))


def test_volunteer_files_a_pending_saving_with_an_exact_amount(client, volunteer, site):
    response = file_saving(client, volunteer, site, amount_kzt="1250000.07",
                           evidence_url="https://goszakup.gov.kz/ru/announce/index/123")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["amount_kzt"] == "1250000.07"
    assert body["site_id"] == site and body["volunteer_id"] == volunteer.id and body["district"] == "taraz"
    assert body["created_at"].endswith("Z") and body["reviewed_at"] is None


def test_integer_tenge_is_accepted_and_answered_with_two_decimals(client, volunteer, site):
    response = file_saving(client, volunteer, site, amount_kzt=300000)
    assert response.status_code == 201
    assert response.get_json()["amount_kzt"] == "300000.00"


@pytest.mark.parametrize("amount", [250000.5, 250000.0, "250000.001", "0", 0, "-5.00", -5, "1000000000000.01",
                                    1000000000001, "1e6", " 100", "100,00", "100.00\n", "100\n", True, None])
def test_bad_amounts_are_422_and_file_nothing(client, app, volunteer, site, amount):
    response = file_saving(client, volunteer, site, amount_kzt=amount)
    assert response.status_code == 422, (amount, response.get_json())
    assert "amount_kzt" in response.get_json()["errors"]
    assert count_reports(app) == 0


def test_the_largest_allowed_amount_is_kept_exactly(client, volunteer, make_site):
    site = make_site(budget_kzt="1000000000000.00")
    response = file_saving(client, volunteer, site, amount_kzt="1000000000000.00")
    assert response.status_code == 201
    assert response.get_json()["amount_kzt"] == "1000000000000.00"


@pytest.mark.parametrize("language, words", [("en", "budget"), ("ru", "бюджет"), ("kk", "бюджет")])
def test_a_report_above_the_sites_budget_is_422_and_files_nothing(client, app, volunteer, make_site, language,
                                                                   words):
    site = make_site(budget_kzt="1000000.00")
    response = client.post(f"{API}/savings", headers={**volunteer.headers, "Accept-Language": language},
                           json=saving_body(site, amount_kzt="1000000.01"))
    assert response.status_code == 422, response.get_json()
    message = response.get_json()["errors"]["amount_kzt"][0]
    assert words in message.lower() and "1000000.00" in message
    assert count_reports(app) == 0
    assert file_saving(client, volunteer, site, amount_kzt="1000000.00").status_code == 201


def count_reports(app) -> int:
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsReport

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SavingsReport))


@pytest.mark.parametrize("field,value", [("category", "bribe"), ("description", ""), ("evidence_url", "ftp://x.kz/a"),
                                         ("client_uuid", "not-a-uuid"), ("site_id", "abc"), ("unexpected", 1)])
def test_invalid_fields_are_422_naming_the_field(client, volunteer, site, field, value):
    response = file_saving(client, volunteer, site, **{field: value})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_unknown_site_is_422_on_site_id(client, volunteer, site):
    response = file_saving(client, volunteer, site, site_id="999999")
    assert response.status_code == 422
    assert "site_id" in response.get_json()["errors"]


def test_retry_with_same_uuid_returns_the_first_saving(client, app, volunteer, site):
    body = saving_body(site)
    first = client.post(f"{API}/savings", headers=volunteer.headers, json=body)
    # The same amount spelled as an integer is the same report.
    retry = client.post(f"{API}/savings", headers=volunteer.headers, json={**body, "amount_kzt": 250000})
    assert first.status_code == 201 and retry.status_code == 200
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert count_reports(app) == 1


def test_same_uuid_with_a_different_body_is_409(client, app, volunteer, site):
    body = saving_body(site)
    assert client.post(f"{API}/savings", headers=volunteer.headers, json=body).status_code == 201
    response = client.post(f"{API}/savings", headers=volunteer.headers, json={**body, "amount_kzt": "1.00"})
    assert response.status_code == 409
    assert count_reports(app) == 1


def test_the_same_uuid_from_two_volunteers_makes_two_reports(client, app, make_volunteer, site):
    body = saving_body(site)
    for account in (make_volunteer(), make_volunteer()):
        assert client.post(f"{API}/savings", headers=account.headers, json=body).status_code == 201
    assert count_reports(app) == 2


@pytest.mark.postgres
def test_simultaneous_retries_make_one_saving(app, volunteer, site):
    body = saving_body(site)
    barrier = threading.Barrier(6)
    statuses, ids = [], set()

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post(f"{API}/savings", headers=volunteer.headers, json=body)
        statuses.append(response.status_code)
        ids.add(response.get_json().get("id"))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(ids) == 1 and count_reports(app) == 1


def test_only_volunteers_file_savings(client, admin, inspector, site):
    assert file_saving(client, admin, site).status_code == 403
    assert file_saving(client, inspector, site).status_code == 403
    assert client.post(f"{API}/savings", json=saving_body(site)).status_code == 401


def test_a_new_saving_alerts_the_inspectors_of_the_sites_district(client, app, run_jobs, volunteer, make_inspector,
                                                                  make_site):
    from volunteer_api.alerts.models import Alert
    from volunteer_api.extensions import db

    merke_site = make_site("merke")
    merke_inspector = make_inspector(["merke"])
    make_inspector(["taraz"])
    saving_id = file_saving(client, volunteer, merke_site).get_json()["id"]

    def alerts():
        with app.app_context():
            return db.session.execute(select(Alert.recipient_id, Alert.kind, Alert.subject_id)).all()

    run_jobs(lambda: alerts())
    assert alerts() == [(int(merke_inspector.id), "savings_pending", saving_id)]


def test_volunteer_sees_only_their_own_savings(client, make_volunteer, site):
    mine, theirs = make_volunteer(), make_volunteer()
    own_id = file_saving(client, mine, site).get_json()["id"]
    other_id = file_saving(client, theirs, site).get_json()["id"]
    listed = client.get(f"{API}/savings", headers=mine.headers).get_json()
    assert [item["id"] for item in listed["items"]] == [own_id]
    assert client.get(f"{API}/savings?volunteer_id={theirs.id}", headers=mine.headers).get_json()["items"] == []
    assert client.get(f"{API}/savings/{other_id}", headers=mine.headers).status_code == 404
    assert client.get(f"{API}/savings/{own_id}", headers=mine.headers).status_code == 200


def test_inspector_sees_only_their_districts_and_admin_sees_all(client, volunteer, make_inspector, admin, make_site):
    taraz_id = file_saving(client, volunteer, make_site("taraz")).get_json()["id"]
    merke_id = file_saving(client, volunteer, make_site("merke")).get_json()["id"]
    inspector = make_inspector(["merke"])
    assert [i["id"] for i in client.get(f"{API}/savings", headers=inspector.headers).get_json()["items"]] == [merke_id]
    assert client.get(f"{API}/savings/{taraz_id}", headers=inspector.headers).status_code == 404
    assert [i["id"] for i in client.get(f"{API}/savings", headers=admin.headers).get_json()["items"]] == \
        [merke_id, taraz_id]


def test_list_filters_and_keyset_pages(client, volunteer, admin, make_site):
    first_site, second_site = make_site(), make_site()
    ids = [file_saving(client, volunteer, first_site if n % 2 else second_site).get_json()["id"] for n in range(5)]
    page = client.get(f"{API}/savings?limit=2", headers=admin.headers).get_json()
    seen = [item["id"] for item in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"{API}/savings?limit=2&cursor={page['next_cursor']}", headers=admin.headers).get_json()
        seen += [item["id"] for item in page["items"]]
    assert seen == list(reversed(ids))
    on_first = client.get(f"{API}/savings?site_id={first_site}", headers=admin.headers).get_json()["items"]
    assert {item["site_id"] for item in on_first} == {first_site} and len(on_first) == 2
    assert client.get(f"{API}/savings?status=approved", headers=admin.headers).get_json()["items"] == []
    assert client.get(f"{API}/savings?status=lost", headers=admin.headers).status_code == 422
    assert client.get(f"{API}/savings?cursor=zzz", headers=admin.headers).status_code == 422


def test_inspector_of_the_district_approves_once(client, app, volunteer, inspector, site):
    saving_id = file_saving(client, volunteer, site).get_json()["id"]
    response = client.post(f"{API}/savings/{saving_id}/review", headers=inspector.headers,
                           json={"decision": "approved", "comment": "Checked against the contract."})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "approved" and body["reviewed_by_id"] == inspector.id and body["reviewed_at"]
    again = client.post(f"{API}/savings/{saving_id}/review", headers=inspector.headers,
                        json={"decision": "rejected", "comment": "Changed my mind."})
    assert again.status_code == 409
    assert client.get(f"{API}/savings/{saving_id}", headers=inspector.headers).get_json()["status"] == "approved"


def test_review_is_audited(client, app, volunteer, admin, site):
    from volunteer_api.audit.models import AuditEvent
    from volunteer_api.extensions import db

    saving_id = file_saving(client, volunteer, site).get_json()["id"]
    client.post(f"{API}/savings/{saving_id}/review", headers=admin.headers, json={"decision": "rejected", "comment": "No"})
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "saving",
                                                                     AuditEvent.object_id == saving_id)
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["saving.filed", "saving.rejected"]


def test_who_may_review(client, volunteer, make_inspector, site):
    saving_id = file_saving(client, volunteer, site).get_json()["id"]
    decision = {"decision": "approved", "comment": "ok"}
    assert client.post(f"{API}/savings/{saving_id}/review", headers=volunteer.headers, json=decision).status_code == 403
    other = make_inspector(["merke"])
    assert client.post(f"{API}/savings/{saving_id}/review", headers=other.headers, json=decision).status_code == 404
    assert client.post(f"{API}/savings/424242/review", headers=make_inspector().headers, json=decision).status_code == 404
    bad = client.post(f"{API}/savings/{saving_id}/review", headers=make_inspector().headers, json={"decision": "maybe"})
    assert bad.status_code == 422


@pytest.mark.postgres
def test_two_simultaneous_reviews_have_one_winner(app, volunteer, make_inspector, admin, site):
    client = app.test_client()
    saving_id = file_saving(client, volunteer, site).get_json()["id"]
    reviewers = [make_inspector(), admin, make_inspector(), admin]
    barrier = threading.Barrier(len(reviewers))
    statuses = []

    def review(account, decision):
        barrier.wait()
        response = app.test_client().post(f"{API}/savings/{saving_id}/review", headers=account.headers,
                                          json={"decision": decision, "comment": "race"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=review, args=(account, ("approved", "rejected")[n % 2]))
               for n, account in enumerate(reviewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409]


def test_savings_stamp_sync_change_numbers(client, app, volunteer, inspector, site):
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsReport

    saving_id = file_saving(client, volunteer, site).get_json()["id"]
    with app.app_context():
        filed = db.session.get(SavingsReport, int(saving_id)).change_seq
    client.post(f"{API}/savings/{saving_id}/review", headers=inspector.headers, json={"decision": "approved"})
    with app.app_context():
        reviewed = db.session.get(SavingsReport, int(saving_id)).change_seq
    assert 0 < filed < reviewed
