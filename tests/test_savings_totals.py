"""The workers' totals: exact sums from SQL aggregates, fresh within seconds of an approval, idempotent,
and milestone alerts that reach each admin once."""
import logging
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text

from tests.test_savings import file_saving, site  # noqa: F401 - a fixture shared with the savings tests
from volunteer_api.savings.models import SavingsReport

API = "/api/v1"
MILLION_KZT_TIYN = 1_000_000 * 100


def seed_reports(app, rows: list[dict]) -> None:
    """Insert savings reports straight into the table (10,000 through the API would be slow, not truer)."""
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsReport

    now = datetime.now(timezone.utc)
    full = [{"client_uuid": str(uuid.uuid4()), "request_hash": "0" * 64, "category": "other", "description": "seed",
             "status": "approved", "created_at": now, "updated_at": now, "change_seq": 0,
             **({"reviewed_at": now} if row.get("status", "approved") == "approved" else {}), **row}
            for row in rows]
    with app.app_context():
        db.session.execute(insert(SavingsReport), full)
        db.session.commit()


def recompute(app) -> dict:
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals

    with app.app_context():
        result = recompute_totals()
        db.session.commit()
        return result


def stored_totals(app) -> list[tuple]:
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(SavingsTotal.scope, SavingsTotal.key, SavingsTotal.approved_tiyn, SavingsTotal.approved_count,
                   SavingsTotal.pending_tiyn, SavingsTotal.pending_count).order_by(SavingsTotal.scope, SavingsTotal.key))]


def milestone_alerts(app) -> list[tuple]:
    from volunteer_api.alerts.models import Alert
    from volunteer_api.extensions import db

    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Alert.event_key, Alert.recipient_id).where(Alert.kind == "milestone")
            .order_by(Alert.event_key, Alert.recipient_id))]


@pytest.fixture
def places(make_site, make_volunteer):
    """Three sites in two districts and two volunteers, as ids (ints) for direct inserts."""
    sites = {int(make_site("taraz")): "taraz", int(make_site("taraz")): "taraz", int(make_site("merke")): "merke"}
    volunteers = [make_volunteer(), make_volunteer()]
    return sites, volunteers


def test_sum_of_ten_thousand_random_amounts_is_exact_to_the_tiyn(app, client, admin, places):
    sites, volunteers = places
    rng = random.Random(20260514)
    categories = ["overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other"]
    rows = []
    for _ in range(10_000):
        site_id = rng.choice(list(sites))
        # Mostly everyday amounts with tiyn, some huge ones: floats would lose the tiyn at these magnitudes.
        amount = rng.randint(1, 99_999_999) if rng.random() < 0.9 else rng.randint(10**12, 10**14)
        rows.append({"site_id": site_id, "district": sites[site_id], "volunteer_id": int(rng.choice(volunteers).id),
                     "amount_tiyn": amount, "category": rng.choice(categories),
                     "reviewed_at": datetime(2026, rng.randint(1, 12), 15, 23, 59, tzinfo=timezone.utc)})
    seed_reports(app, rows)
    recompute(app)

    expected = sum(Decimal(row["amount_tiyn"]) / 100 for row in rows)
    body = client.get(f"{API}/savings/totals?by=category,month,site,volunteer", headers=admin.headers).get_json()
    assert Decimal(body["approved_kzt"]) == expected and body["approved_kzt"] == f"{expected:.2f}"
    assert body["approved_count"] == 10_000
    for breakdown, field in (("by_district", "district"), ("by_category", "category"), ("by_month", "month"),
                             ("by_site", "site_id"), ("by_volunteer", "volunteer_id")):
        assert sum(Decimal(item["approved_kzt"]) for item in body[breakdown]) == expected, breakdown
        assert sum(item["approved_count"] for item in body[breakdown]) == 10_000, breakdown
        assert len({item[field] for item in body[breakdown]}) == len(body[breakdown])
    taraz = sum(Decimal(r["amount_tiyn"]) / 100 for r in rows if r["district"] == "taraz")
    assert next(d for d in body["by_district"] if d["district"] == "taraz")["approved_kzt"] == f"{taraz:.2f}"


def test_a_float_amount_is_422(client, volunteer, site):  # noqa: F811 - the fixture
    response = file_saving(client, volunteer, site, amount_kzt=1250.5)
    assert response.status_code == 422
    assert "amount_kzt" in response.get_json()["errors"]


def test_an_approval_shows_in_the_totals_within_five_seconds(client, volunteer, inspector, site):  # noqa: F811
    saving_id = file_saving(client, volunteer, site, amount_kzt="777777.77").get_json()["id"]
    approved_at = time.monotonic()
    response = client.post(f"{API}/savings/{saving_id}/review", headers=inspector.headers,
                           json={"decision": "approved", "comment": "verified"})
    assert response.status_code == 200
    while True:
        body = client.get(f"{API}/savings/totals", headers=volunteer.headers).get_json()
        if body["approved_kzt"] == "777777.77":
            break
        assert time.monotonic() - approved_at < 5, body
        time.sleep(0.05)
    assert body["approved_count"] == 1 and body["pending_count"] == 0 and body["as_of"].endswith("Z")
    assert body["by_district"] == [{"district": "taraz", "approved_kzt": "777777.77", "approved_count": 1,
                                    "pending_kzt": "0.00", "pending_count": 0}]


def test_running_the_recompute_twice_changes_nothing(app, make_admin, places):
    make_admin()
    sites, volunteers = places
    site_ids = list(sites)
    rows = [{"site_id": site_ids[n % 3], "district": sites[site_ids[n % 3]], "volunteer_id": int(volunteers[n % 2].id),
             "amount_tiyn": 7_000_000_000 + n} for n in range(12)]
    rows.append({**rows[0], "status": "pending", "amount_tiyn": 12345})
    seed_reports(app, rows)
    first = recompute(app)
    totals, alerts = stored_totals(app), milestone_alerts(app)
    second = recompute(app)
    assert stored_totals(app) == totals and milestone_alerts(app) == alerts
    assert first["approved_tiyn"] == second["approved_tiyn"] == sum(7_000_000_000 + n for n in range(12))
    assert second["new_milestones"] == []
    assert ("overall", "all", first["approved_tiyn"], 12, 12345, 1) in totals


def test_pending_totals_and_keys_that_lose_their_last_saving(app, client, volunteer, admin, make_site):
    merke = make_site("merke")
    saving_id = file_saving(client, volunteer, merke, amount_kzt="500.25").get_json()["id"]
    recompute(app)
    body = client.get(f"{API}/savings/totals", headers=admin.headers).get_json()
    assert (body["pending_kzt"], body["pending_count"], body["approved_kzt"]) == ("500.25", 1, "0.00")
    assert [d["district"] for d in body["by_district"]] == ["merke"]
    client.post(f"{API}/savings/{saving_id}/review", headers=admin.headers, json={"decision": "rejected"})
    recompute(app)
    body = client.get(f"{API}/savings/totals", headers=admin.headers).get_json()
    assert body["by_district"] == [] and body["pending_count"] == 0 and body["as_of"]
    assert stored_totals(app) == [("overall", "all", 0, 0, 0, 0)]


def test_totals_before_any_computation_are_zero_with_no_as_of(client, volunteer):
    body = client.get(f"{API}/savings/totals", headers=volunteer.headers).get_json()
    assert body == {"approved_kzt": "0.00", "approved_count": 0, "pending_kzt": "0.00", "pending_count": 0,
                    "by_district": [], "as_of": None}


def test_breakdowns_by_month_of_approval_and_by_volunteer(app, client, admin, places):
    sites, volunteers = places
    site_id = next(iter(sites))
    seed_reports(app, [
        # 23:30 UTC on 31 January is already February in Taraz: the month is the UTC approval month.
        {"site_id": site_id, "district": "taraz", "volunteer_id": int(volunteers[0].id), "amount_tiyn": 100,
         "reviewed_at": datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc)},
        {"site_id": site_id, "district": "taraz", "volunteer_id": int(volunteers[1].id), "amount_tiyn": 250,
         "reviewed_at": datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc)},
        {"site_id": site_id, "district": "taraz", "volunteer_id": int(volunteers[1].id), "amount_tiyn": 999,
         "status": "pending"},
    ])
    recompute(app)
    body = client.get(f"{API}/savings/totals?by=month,volunteer,site", headers=admin.headers).get_json()
    assert body["by_month"] == [{"month": "2026-01", "approved_kzt": "1.00", "approved_count": 1},
                                {"month": "2026-03", "approved_kzt": "2.50", "approved_count": 1}]
    assert [(v["volunteer_id"], v["approved_kzt"], v["pending_kzt"]) for v in body["by_volunteer"]] == [
        (volunteers[1].id, "2.50", "9.99"), (volunteers[0].id, "1.00", "0.00")]
    assert body["by_volunteer"][0]["badge_number"].startswith("ZHB-")
    assert body["by_site"][0]["site_id"] == str(site_id) and body["by_site"][0]["site_name"]
    own = client.get(f"{API}/savings/totals?by=volunteer", headers=volunteers[0].headers).get_json()
    assert [v["volunteer_id"] for v in own["by_volunteer"]] == [volunteers[0].id]
    assert client.get(f"{API}/savings/totals?by=site&limit=1", headers=admin.headers).get_json()["by_site"][0][
        "approved_kzt"] == "3.50"


def test_totals_need_a_signed_in_user_and_known_breakdowns(client, admin):
    assert client.get(f"{API}/savings/totals").status_code == 401
    assert client.get(f"{API}/savings/totals?by=galaxy", headers=admin.headers).status_code == 422
    assert client.get(f"{API}/savings/totals?limit=0", headers=admin.headers).status_code == 422


def test_the_200_million_milestone_alerts_each_admin_once(app, client, run_jobs, make_admin, inspector, volunteer,
                                                          places):
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals_scheduled

    admins = [make_admin(), make_admin()]
    sites, volunteers = places
    taraz_site = next(s for s, d in sites.items() if d == "taraz")
    seed_reports(app, [{"site_id": taraz_site, "district": "taraz", "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 190 * MILLION_KZT_TIYN}])
    recompute(app)
    assert {key for key, _ in milestone_alerts(app)} == {f"milestone:{n * 50 * MILLION_KZT_TIYN}" for n in (1, 2, 3)}

    # An approval through the API takes the total past 200 million; the worker's recompute alerts.
    saving_id = file_saving(client, volunteer, str(taraz_site), amount_kzt="15000000.00").get_json()["id"]
    client.post(f"{API}/savings/{saving_id}/review", headers=inspector.headers, json={"decision": "approved"})
    key = f"milestone:{200 * MILLION_KZT_TIYN}"
    run_jobs(lambda: sum(1 for k, _ in milestone_alerts(app) if k == key) == len(admins))
    with app.app_context():
        recompute_totals_scheduled()
        recompute_totals_scheduled()
        db.session.remove()
    alerts = [(k, recipient) for k, recipient in milestone_alerts(app) if k == key]
    assert sorted(recipient for _, recipient in alerts) == sorted(int(a.id) for a in admins)
    assert len(milestone_alerts(app)) == 4 * len(admins)


@pytest.mark.postgres
def test_racing_recomputes_alert_a_milestone_once(app, make_admin, places):
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals

    admin = make_admin()
    sites, volunteers = places
    site_id = next(iter(sites))
    seed_reports(app, [{"site_id": site_id, "district": sites[site_id], "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 201 * MILLION_KZT_TIYN}])
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                recompute_totals()
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(milestone_alerts(app)) == sorted(
        (f"milestone:{n * 50 * MILLION_KZT_TIYN}", int(admin.id)) for n in (1, 2, 3, 4))


def test_an_enormous_approval_alerts_only_its_highest_milestone(app, make_admin, places):
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsMilestone

    make_admin()
    sites, volunteers = places
    site_id = next(iter(sites))
    seed_reports(app, [{"site_id": site_id, "district": sites[site_id], "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 1_000 * MILLION_KZT_TIYN}])
    recompute(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavingsMilestone)) == 1
    assert [key for key, _ in milestone_alerts(app)] == [f"milestone:{1_000 * MILLION_KZT_TIYN}"]


def test_a_recompute_job_defers_to_a_later_one_already_due(app):
    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob
    from volunteer_api.savings.models import SavingsTotal
    from volunteer_api.jobs.names import RECOMPUTE_TOTALS as RECOMPUTE_JOB
    from volunteer_api.savings.totals import recompute_totals_job
    from volunteer_api.timestamps import utcnow

    with app.app_context():
        # A due job stands for one queued behind this run (just "published", so the relay leaves it be).
        db.session.add(OutboxJob(name=RECOMPUTE_JOB, payload={}, status="pending", published_at=utcnow(),
                                 available_at=datetime(2030, 1, 1, tzinfo=timezone.utc)))
        db.session.commit()
        assert recompute_totals_job() is not None  # not yet due: this run must do the work
        db.session.rollback()
        db.session.execute(OutboxJob.__table__.update().values(available_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
        db.session.commit()
        assert recompute_totals_job() is None
        assert db.session.scalar(select(func.count()).select_from(SavingsTotal)) == 0
        db.session.rollback()


def stored_rows_with_times(app) -> dict:
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    with app.app_context():
        return {(row.scope, row.key): (row.approved_tiyn, row.approved_count, row.pending_tiyn, row.pending_count,
                                       row.computed_at)
                for row in db.session.scalars(select(SavingsTotal))}


def file_direct(app, **row) -> int:
    """One pending report inserted straight into the table; its id."""
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsReport

    now = datetime.now(timezone.utc)
    with app.app_context():
        report = SavingsReport(client_uuid=str(uuid.uuid4()), request_hash="0" * 64, description="seed",
                               status="pending", created_at=now, updated_at=now, change_seq=0, **row)
        db.session.add(report)
        db.session.commit()
        return report.id


def decide_direct(app, saving_id: int, status: str, reviewed_at: datetime) -> None:
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsReport

    with app.app_context():
        db.session.execute(SavingsReport.__table__.update().where(SavingsReport.id == saving_id)
                           .values(status=status, reviewed_at=reviewed_at))
        db.session.commit()


def recompute_for(app, saving_id: int) -> dict | None:
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals_for_saving

    with app.app_context():
        result = recompute_totals_for_saving(saving_id=saving_id)
        db.session.commit()
        return result


def test_targeted_recomputes_after_random_filings_and_decisions_equal_a_full_recompute(app, make_admin, make_site,
                                                                                      make_volunteer):
    make_admin()
    sites = {int(make_site(district)): district for district in ("taraz", "taraz", "merke", "shu", "merke")}
    volunteers = [int(make_volunteer().id) for _ in range(3)]
    categories = ["overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other"]
    # Month edges in UTC: the last minute of January, the first of March, December into January.
    review_times = [datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc),
                    datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc), datetime(2026, 3, 1, tzinfo=timezone.utc)]
    rng = random.Random(20260515)
    pending, due_jobs = [], []
    for _ in range(120):
        if not pending or rng.random() < 0.45:
            site_id = rng.choice(list(sites))
            saving_id = file_direct(app, site_id=site_id, district=sites[site_id], volunteer_id=rng.choice(volunteers),
                                    amount_tiyn=rng.choice([1, 99, rng.randint(1, 10**12)]),
                                    category=rng.choice(categories))
            pending.append(saving_id)
        else:
            saving_id = pending.pop(rng.randrange(len(pending)))
            decide_direct(app, saving_id, rng.choice(["approved", "approved", "rejected"]), rng.choice(review_times))
        due_jobs.append(saving_id)
        # Jobs run late, in any order, some twice: each one reads the rows as they are when it runs.
        while due_jobs and rng.random() < 0.6:
            job = due_jobs.pop(rng.randrange(len(due_jobs)))
            recompute_for(app, job)
            if rng.random() < 0.2:
                recompute_for(app, job)
    for job in due_jobs:
        recompute_for(app, job)

    targeted = stored_totals(app)
    assert {scope for scope, *_ in targeted} == {"overall", "district", "site", "volunteer", "category", "month"}
    recompute(app)
    assert stored_totals(app) == targeted


def test_a_decision_moves_pending_to_approved_on_the_same_keys_and_adds_its_month(app, make_admin, places):
    make_admin()
    sites, volunteers = places
    site_id = next(iter(sites))
    saving_id = file_direct(app, site_id=site_id, district=sites[site_id], volunteer_id=int(volunteers[0].id),
                            amount_tiyn=12_345, category="funds_returned")
    recompute_for(app, saving_id)
    keys = [("category", "funds_returned"), ("district", sites[site_id]), ("overall", "all"), ("site", str(site_id)),
            ("volunteer", str(volunteers[0].id))]
    assert stored_totals(app) == [(*key, 0, 0, 12_345, 1) for key in keys]
    decide_direct(app, saving_id, "approved", datetime(2026, 2, 28, 23, 59, tzinfo=timezone.utc))
    recompute_for(app, saving_id)
    assert stored_totals(app) == sorted([(*key, 12_345, 1, 0, 0) for key in keys] + [("month", "2026-02", 12_345, 1, 0, 0)])


def test_running_a_targeted_recompute_twice_changes_nothing(app, make_admin, places):
    make_admin()
    sites, volunteers = places
    ids = [file_direct(app, site_id=site_id, district=district, volunteer_id=int(volunteers[n % 2].id),
                       amount_tiyn=60 * MILLION_KZT_TIYN + n, category="other")
           for n, (site_id, district) in enumerate(sites.items())]
    decide_direct(app, ids[0], "approved", datetime(2026, 4, 1, tzinfo=timezone.utc))
    for saving_id in ids:
        recompute_for(app, saving_id)
    before, alerts = stored_rows_with_times(app), milestone_alerts(app)
    assert len(alerts) == 1  # 60 million approved: the 50 million milestone
    again = recompute_for(app, ids[0])
    after = stored_rows_with_times(app)
    assert again["new_milestones"] == [] and milestone_alerts(app) == alerts
    # Not even rewritten: only the overall row is stamped, to say when the totals were last verified.
    assert {key: row for key, row in after.items() if key != ("overall", "all")} == \
        {key: row for key, row in before.items() if key != ("overall", "all")}
    assert after[("overall", "all")][:4] == before[("overall", "all")][:4]
    assert after[("overall", "all")][4] >= before[("overall", "all")][4]


def test_the_reconciliation_deletes_stale_keys_and_rewrites_only_changed_rows(app, make_admin, places):
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    make_admin()
    sites, volunteers = places
    rows = [{"site_id": site_id, "district": district, "volunteer_id": int(volunteers[0].id), "amount_tiyn": 500}
            for site_id, district in sites.items()]
    seed_reports(app, rows)
    recompute(app)
    before = stored_rows_with_times(app)
    long_ago = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with app.app_context():
        # A key whose last report vanished without a job, and a row a lost job left wrong.
        db.session.add(SavingsTotal(scope="site", key="999999", approved_tiyn=7, approved_count=1, pending_tiyn=0,
                                    pending_count=0, computed_at=long_ago))
        db.session.execute(SavingsTotal.__table__.update().where(SavingsTotal.scope == "district",
                                                                 SavingsTotal.key == "merke")
                           .values(approved_tiyn=1, computed_at=long_ago))
        db.session.commit()
    result = recompute(app)
    after = stored_rows_with_times(app)
    assert ("site", "999999") not in after and set(after) == set(before)
    assert after[("district", "merke")][:4] == before[("district", "merke")][:4]
    assert after[("district", "merke")][4] == after[("overall", "all")][4] == result["computed_at"]
    unchanged = set(before) - {("district", "merke"), ("overall", "all")}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}


def test_the_recompute_job_is_targeted_with_a_saving_id_and_full_without(app, make_admin, places):
    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob
    from volunteer_api.jobs.names import RECOMPUTE_TOTALS as RECOMPUTE_JOB
    from volunteer_api.savings.totals import recompute_totals_job
    from volunteer_api.timestamps import utcnow

    make_admin()
    sites, volunteers = places
    (first_site, first_district), *_, (second_site, second_district) = list(sites.items())  # taraz, merke
    first = file_direct(app, site_id=first_site, district=first_district, volunteer_id=int(volunteers[0].id),
                        amount_tiyn=100, category="other")
    file_direct(app, site_id=second_site, district=second_district, volunteer_id=int(volunteers[1].id),
                amount_tiyn=200, category="other")
    with app.app_context():
        recompute_totals_job(saving_id=first)
        db.session.commit()
    assert ("site", str(second_site), 0, 0, 200, 1) not in stored_totals(app)
    assert ("overall", "all", 0, 0, 100, 1) in stored_totals(app)
    with app.app_context():
        # A due job for another report does not cover this one; one for the same report does.
        db.session.add(OutboxJob(name=RECOMPUTE_JOB, payload={"saving_id": first + 1000}, status="pending",
                                 published_at=utcnow(), available_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
        db.session.commit()
        assert recompute_totals_job(saving_id=first) is not None
        db.session.rollback()
        db.session.add(OutboxJob(name=RECOMPUTE_JOB, payload={"saving_id": first}, status="pending",
                                 published_at=utcnow(), available_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
        db.session.commit()
        assert recompute_totals_job(saving_id=first) is None
        db.session.rollback()
        db.session.execute(OutboxJob.__table__.delete())
        db.session.commit()
        recompute_totals_job()  # an old job without saving_id: everything
        db.session.commit()
    assert ("site", str(second_site), 0, 0, 200, 1) in stored_totals(app)
    assert ("overall", "all", 0, 0, 300, 2) in stored_totals(app)


def test_totals_stay_exact_past_two_to_the_63_tiyn(app, client, admin, places):
    """Pending amounts are unbounded in count: 92,300 reports of the largest amount pass 2^63 tiyn."""
    from volunteer_api.extensions import db
    from volunteer_api.money import MAX_TIYN
    from volunteer_api.savings.totals import recompute_totals_for_saving

    sites, volunteers = places
    taraz = next(s for s, d in sites.items() if d == "taraz")
    merke = next(s for s, d in sites.items() if d == "merke")
    count = 2**63 // MAX_TIYN + 100
    seed_reports(app, [{"site_id": taraz, "district": "taraz", "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": MAX_TIYN, "status": "pending"}] * count)
    # An honest approval elsewhere must still reach the totals.
    seed_reports(app, [{"site_id": merke, "district": "merke", "volunteer_id": int(volunteers[1].id),
                        "amount_tiyn": 12_345}])
    expected = count * MAX_TIYN
    assert expected > 2**63
    recompute(app)
    body = client.get(f"{API}/savings/totals?by=site,volunteer,category", headers=admin.headers).get_json()
    assert body["pending_kzt"] == f"{expected // 100}.00" and body["pending_count"] == count
    assert body["approved_kzt"] == "123.45" and body["approved_count"] == 1
    assert {d["district"]: d["pending_kzt"] for d in body["by_district"]} == {
        "taraz": f"{expected // 100}.00", "merke": "0.00"}
    # The largest site comes first in the ranking: the stored totals order as numbers.
    assert [s["site_id"] for s in body["by_site"]] == [str(merke), str(taraz)]  # by approved, then key
    assert ("site", str(taraz), 0, 0, expected, count) in stored_totals(app)

    # The targeted job of one of those reports gives the same figures.
    with app.app_context():
        db.session.execute(text("DELETE FROM savings_totals"))
        saving_id = db.session.scalar(select(func.min(SavingsReport.id)))
        result = recompute_totals_for_saving(saving_id=saving_id)
        db.session.commit()
    assert result["failed_keys"] == []
    assert ("district", "taraz", 0, 0, expected, count) in stored_totals(app)
    assert ("overall", "all", 0, 0, expected, count) in stored_totals(app)


@pytest.fixture
def refused_total_key(app):
    """A trigger that makes the database refuse to write one total (say, a corrupt key): returns a setter."""
    from volunteer_api.extensions import db

    def refuse(key: str) -> None:
        with app.app_context():
            if db.session.get_bind().dialect.name == "postgresql":
                db.session.execute(text(
                    "CREATE FUNCTION refuse_total_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.key = '{key}' THEN RAISE EXCEPTION 'refused total key'; END IF; RETURN NEW; END $$"))
                db.session.execute(text("CREATE TRIGGER refuse_total_key BEFORE INSERT OR UPDATE ON savings_totals "
                                        "FOR EACH ROW EXECUTE FUNCTION refuse_total_key()"))
            else:
                for event in ("INSERT", "UPDATE"):
                    db.session.execute(text(
                        f"CREATE TRIGGER refuse_total_key_{event.lower()} BEFORE {event} ON savings_totals "
                        f"WHEN NEW.key = '{key}' BEGIN SELECT RAISE(ABORT, 'refused total key'); END"))
            db.session.commit()

    yield refuse
    with app.app_context():
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER IF EXISTS refuse_total_key ON savings_totals"))
            db.session.execute(text("DROP FUNCTION IF EXISTS refuse_total_key()"))
        else:
            for event in ("insert", "update"):
                db.session.execute(text(f"DROP TRIGGER IF EXISTS refuse_total_key_{event}"))
        db.session.commit()


def test_one_key_that_cannot_be_written_does_not_block_the_others(app, client, admin, places, refused_total_key):
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals_for_saving

    sites, volunteers = places
    taraz = next(s for s, d in sites.items() if d == "taraz")
    refused_total_key(str(taraz))
    seed_reports(app, [{"site_id": taraz, "district": "taraz", "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 5_000}])
    result = recompute(app)
    assert result["failed_keys"] == [f"site:{taraz}"]
    totals = stored_totals(app)
    assert ("overall", "all", 5_000, 1, 0, 0) in totals and ("district", "taraz", 5_000, 1, 0, 0) in totals
    assert ("volunteer", volunteers[0].id, 5_000, 1, 0, 0) in totals
    assert not [row for row in totals if row[:2] == ("site", str(taraz))]

    # The targeted job of a new report: the same key fails, every other key follows the report.
    seed_reports(app, [{"site_id": taraz, "district": "taraz", "volunteer_id": int(volunteers[1].id),
                        "amount_tiyn": 7_000, "category": "funds_returned"}])
    with app.app_context():
        saving_id = db.session.scalar(select(func.max(SavingsReport.id)))
        result = recompute_totals_for_saving(saving_id=saving_id)
        db.session.commit()
    assert result["failed_keys"] == [f"site:{taraz}"]
    totals = stored_totals(app)
    assert ("overall", "all", 12_000, 2, 0, 0) in totals and ("district", "taraz", 12_000, 2, 0, 0) in totals
    assert ("volunteer", volunteers[1].id, 7_000, 1, 0, 0) in totals
    assert ("category", "funds_returned", 7_000, 1, 0, 0) in totals
    assert client.get(f"{API}/savings/totals", headers=admin.headers).get_json()["approved_kzt"] == "120.00"


class RecordedErrors(logging.Handler):
    """The messages of the errors logged while it is attached."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_site_moved_to_another_district_keeps_one_total_of_all_its_savings(app, client, admin, make_site,
                                                                           make_volunteer):
    """Approved savings stay in the district they were decided in, the site's later ones go to its new
    district: the site's total is all of them, each district its own part, whichever way it is computed."""
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    moving, staying = int(make_site("taraz")), int(make_site("taraz"))
    volunteer = int(make_volunteer().id)
    report = {"volunteer_id": volunteer, "category": "other"}
    approved_before = file_direct(app, site_id=moving, district="taraz", amount_tiyn=1_000, **report)
    decide_direct(app, approved_before, "approved", datetime(2026, 1, 10, tzinfo=timezone.utc))
    pending_before = file_direct(app, site_id=moving, district="taraz", amount_tiyn=7, **report)
    neighbour = file_direct(app, site_id=staying, district="taraz", amount_tiyn=300, **report)
    decide_direct(app, neighbour, "approved", datetime(2026, 1, 11, tzinfo=timezone.utc))

    moved = client.patch(f"{API}/sites/{moving}", headers=admin.headers, json={"district": "merke"})
    assert moved.status_code == 200 and moved.get_json()["district"] == "merke"
    with app.app_context():
        assert db.session.get(SavingsReport, approved_before).district == "taraz"  # decided: stays
        assert db.session.get(SavingsReport, pending_before).district == "merke"  # pending: moved along
    approved_after = file_direct(app, site_id=moving, district="merke", amount_tiyn=20_000, **report)
    decide_direct(app, approved_after, "approved", datetime(2026, 2, 3, tzinfo=timezone.utc))
    pending_after = file_direct(app, site_id=moving, district="merke", amount_tiyn=3, **report)

    errors = RecordedErrors()
    totals_log = logging.getLogger("volunteer_api.savings.totals")
    totals_log.addHandler(errors)  # on the logger itself: the app's logging setup may replace the root's handlers
    try:
        result = recompute(app)
    finally:
        totals_log.removeHandler(errors)
    assert result["failed_keys"] == [] and errors.messages == []
    full = stored_totals(app)
    assert [row for row in full if row[0] in ("site", "district", "overall")] == [
        ("district", "merke", 20_000, 1, 10, 2),
        ("district", "taraz", 1_300, 2, 0, 0),
        ("overall", "all", 21_300, 3, 10, 2),
        *sorted([("site", str(moving), 21_000, 2, 10, 2), ("site", str(staying), 300, 1, 0, 0)]),
    ]

    # The targeted jobs of every report, from an empty table, arrive at the same rows.
    with app.app_context():
        db.session.execute(SavingsTotal.__table__.delete())
        db.session.commit()
    for saving_id in (approved_before, pending_before, neighbour, approved_after, pending_after):
        recompute_for(app, saving_id)
    assert stored_totals(app) == full


def test_the_reconciliation_corrects_drift_in_every_scope(app, make_admin, make_site, make_volunteer):
    """Rows a lost job or a hand edit left wrong, missing or stale, in each of the six scopes: one full
    reconciliation puts back exactly the table it builds from nothing, and leaves the right rows alone."""
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    make_admin()
    sites = {int(make_site(district)): district for district in ("taraz", "taraz", "merke", "shu")}
    volunteers = [int(make_volunteer().id) for _ in range(3)]
    rng = random.Random(20261205)
    months = [datetime(2026, 1, 31, 23, 59, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc),
              datetime(2026, 11, 15, tzinfo=timezone.utc)]
    rows = []
    for n in range(60):
        site_id = rng.choice(list(sites))
        status = rng.choice(["approved", "approved", "pending", "rejected"])
        rows.append({"site_id": site_id, "district": sites[site_id], "volunteer_id": rng.choice(volunteers),
                     "amount_tiyn": rng.randint(1, 10**12), "status": status,
                     "category": rng.choice(["funds_returned", "contract_reduced", "other"]),
                     **({"reviewed_at": rng.choice(months)} if status != "pending" else {})})
    seed_reports(app, rows)
    recompute(app)
    truth = stored_rows_with_times(app)
    assert {scope for scope, _ in truth} == {"overall", "district", "site", "volunteer", "category", "month"}

    long_ago = datetime(2020, 1, 1, tzinfo=timezone.utc)
    table = SavingsTotal.__table__
    wrong, lost = {}, {}
    with app.app_context():
        for scope in ("overall", "district", "site", "volunteer", "category", "month"):
            first, *others = sorted(key for s, key in truth if s == scope)
            wrong[scope] = first
            db.session.execute(table.update().where(table.c.scope == scope, table.c.key == first)
                               .values(approved_tiyn=table.c.approved_tiyn + 1, pending_count=table.c.pending_count + 2,
                                       computed_at=long_ago))
            if others:
                lost[scope] = others[0]
                db.session.execute(table.delete().where(table.c.scope == scope, table.c.key == others[0]))
        for scope, key in (("district", "zhualy"), ("site", "999999"), ("volunteer", "999999"),
                           ("category", "overpricing_prevented"), ("month", "2019-01")):
            db.session.add(SavingsTotal(scope=scope, key=key, approved_tiyn=5, approved_count=1, pending_tiyn=0,
                                        pending_count=0, computed_at=long_ago))
        db.session.commit()

    result = recompute(app)
    after = stored_rows_with_times(app)
    assert result["failed_keys"] == []
    assert {key: row[:4] for key, row in after.items()} == {key: row[:4] for key, row in truth.items()}
    # What was wrong or missing is written now; every other row keeps the time its figures last changed.
    rewritten = {(scope, key) for scope, key in (*wrong.items(), *lost.items())} | {("overall", "all")}
    assert {key for key, row in after.items() if row[4] == result["computed_at"]} == rewritten
    assert all(after[key] == truth[key] for key in set(truth) - rewritten)


@pytest.mark.postgres
def test_the_reconciliation_leaves_the_transaction_settings_as_they_were(app, places):
    """Its planner settings last for the aggregate alone: the rest of the transaction (the upsert, the
    delete, the milestones, whatever the caller does next) sees the values it had before, the caller's own
    too, not the server's defaults."""
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import _PG_AGGREGATE_SETTINGS, recompute_totals

    sites, volunteers = places
    site_id = next(iter(sites))
    seed_reports(app, [{"site_id": site_id, "district": sites[site_id], "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 100}])

    def settings() -> dict:
        return {name: db.session.scalar(text(f"SHOW {name}")) for name in _PG_AGGREGATE_SETTINGS}

    with app.app_context():
        db.session.execute(text("SET LOCAL work_mem = '8MB'"))  # the caller's value, not the server's default
        before = settings()
        assert before["work_mem"] == "8MB"
        assert recompute_totals()["approved_tiyn"] == 100
        assert settings() == before
        db.session.commit()
