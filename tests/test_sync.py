import threading
import uuid

import pytest

from tests.field_support import create_site, file_inspection
from volunteer_api.extensions import db
from volunteer_api.savings.models import SavingsReport
from volunteer_api.sites.models import Site
from volunteer_api.change_numbers import next_change_seq

SYNC = "/api/v1/sync"


def sync(client, account, cursor=None, **params):
    query = {"since": cursor, **params} if cursor else params
    response = client.get(SYNC, headers=account.headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def add_saving(app, volunteer, site_id: str, *, status="pending") -> int:
    """A savings report row as the savings domain writes it (its API is built elsewhere)."""
    with app.app_context():
        report = SavingsReport(client_uuid=str(uuid.uuid4()), request_hash="0" * 64, volunteer_id=int(volunteer.id),
                               site_id=int(site_id), district="taraz", amount_tiyn=25_000_000, category="other",
                               description="Overpriced cement", status=status)
        db.session.add(report)
        db.session.flush()
        report.change_seq = next_change_seq()
        db.session.commit()
        return report.id


def decide_saving(app, report_id: int, status: str) -> None:
    with app.app_context():
        report = db.session.get(SavingsReport, report_id)
        report.status = status
        report.change_seq = next_change_seq()
        db.session.commit()


def test_first_sync_caches_the_districts_sites_and_the_callers_own_reports(client, app, admin, make_volunteer):
    volunteer, other = make_volunteer("taraz"), make_volunteer("taraz")
    school = create_site(client, admin, name="School")
    create_site(client, admin, name="Merke road", district="merke")
    mine = file_inspection(client, volunteer, school["id"])
    file_inspection(client, other, school["id"])
    saving = add_saving(app, volunteer, school["id"])
    body = sync(client, volunteer)
    assert [site["name"] for site in body["sites"]] == ["School"]
    assert body["sites"][0]["budget_kzt"] == school["budget_kzt"] and "open_flags" in body["sites"][0]
    assert [item["id"] for item in body["inspections"]] == [mine["id"]]
    assert body["inspections"][0]["status"] == "submitted"
    assert [(item["id"], item["status"], item["amount_kzt"]) for item in body["savings"]] == [(str(saving), "pending", "250000.00")]
    assert body["has_more"] is False and body["next_cursor"]


def test_sync_since_a_cursor_returns_only_what_changed(client, app, admin, volunteer, inspector):
    school = create_site(client, admin, name="School")
    clinic = create_site(client, admin, name="Clinic", kind="clinic")
    inspection = file_inspection(client, volunteer, school["id"], severity="high")
    saving = add_saving(app, volunteer, school["id"])
    cursor = sync(client, volunteer)["next_cursor"]
    assert sync(client, volunteer, cursor) == {"sites": [], "inspections": [], "savings": [], "removed": [],
                                               "next_cursor": cursor, "has_more": False}

    client.patch(f"/api/v1/sites/{clinic['id']}", headers=admin.headers, json={"status": "suspended"})
    review = client.post(f"/api/v1/inspections/{inspection['id']}/review", headers=inspector.headers,
                         json={"decision": "confirmed", "comment": "Scaffolding unsafe"})
    assert review.status_code == 200
    decide_saving(app, saving, "approved")
    body = sync(client, volunteer, cursor)
    assert [(site["name"], site["status"]) for site in body["sites"]] == [("Clinic", "suspended")]
    assert [(i["id"], i["status"], i["review_comment"]) for i in body["inspections"]] == [
        (inspection["id"], "confirmed", "Scaffolding unsafe")]
    assert [(s["id"], s["status"]) for s in body["savings"]] == [(str(saving), "approved")]
    assert sync(client, volunteer, body["next_cursor"])["sites"] == []


def test_sync_pages_through_many_changes_without_losing_any(client, app, admin, volunteer):
    site_ids = {create_site(client, admin, name=f"Site {n}")["id"] for n in range(5)}
    inspection_ids = {file_inspection(client, volunteer, next(iter(site_ids)))["id"] for _ in range(3)}
    seen_sites, seen_inspections, cursor, calls = set(), set(), None, 0
    while True:
        body = sync(client, volunteer, cursor, limit=3)
        calls += 1
        seen_sites |= {site["id"] for site in body["sites"]}
        seen_inspections |= {item["id"] for item in body["inspections"]}
        assert len(body["sites"]) + len(body["inspections"]) + len(body["savings"]) <= 3
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert seen_sites == site_ids and seen_inspections == inspection_ids and calls == 3


def test_inspector_syncs_their_districts_sites(client, admin, make_inspector):
    create_site(client, admin, name="Taraz school")
    create_site(client, admin, name="Merke road", district="merke")
    create_site(client, admin, name="Shu clinic", district="shu")
    inspector = make_inspector(["merke", "shu"])
    assert sorted(site["name"] for site in sync(client, inspector)["sites"]) == ["Merke road", "Shu clinic"]
    assert len(sync(client, admin)["sites"]) == 3


def test_bad_sync_cursor_is_422(client, volunteer):
    for cursor in ("garbage", "WyJ4Il0"):  # the second is base64 of ["x"]
        response = client.get(SYNC, headers=volunteer.headers, query_string={"since": cursor})
        assert response.status_code == 422, cursor
    assert client.get(SYNC).status_code == 401
    assert client.get(SYNC, headers=volunteer.headers, query_string={"limit": 0}).status_code == 422


def test_sync_is_documented_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/sync"]["get"]
    assert "since" in [parameter["name"] for parameter in operation["parameters"]]
    assert "next_cursor" in operation["description"] or "cursor" in operation["description"]
    assert "200" in operation["responses"]


def test_change_numbers_rise_across_sites_inspections_and_savings(client, app, admin, volunteer):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"])
    saving = add_saving(app, volunteer, site["id"])
    from volunteer_api.inspections.models import Inspection

    with app.app_context():
        numbers = [db.session.get(Site, int(site["id"])).change_seq,
                   db.session.get(Inspection, int(inspection["id"])).change_seq,
                   db.session.get(SavingsReport, saving).change_seq]
    assert 0 < numbers[0] < numbers[1] < numbers[2]


@pytest.mark.postgres
def test_a_change_that_commits_late_is_held_back_not_skipped(app, client, admin, volunteer):
    """A writer that took its change number first and commits last: /sync answers neither it nor anything
    after it while it runs (no lock made the later writer wait), then both, in order, once."""
    site = create_site(client, admin)
    cursor = sync(client, volunteer)["next_cursor"]
    first_stamped, release_first = threading.Event(), threading.Event()

    def first():
        with app.app_context():
            db.session.get(Site, int(site["id"])).name = "first"
            db.session.get(Site, int(site["id"])).change_seq = next_change_seq()
            db.session.flush()
            first_stamped.set()
            release_first.wait(10)
            db.session.commit()

    writer = threading.Thread(target=first)
    writer.start()
    try:
        assert first_stamped.wait(10)
        later = file_inspection(client, volunteer, site["id"])  # commits while the first is still open
        held = sync(client, volunteer, cursor)
        assert (held["sites"], held["inspections"], held["next_cursor"]) == ([], [], cursor)
    finally:
        release_first.set()
        writer.join(10)
    body = sync(client, volunteer, cursor, limit=1)
    assert [s["name"] for s in body["sites"]] == ["first"] and body["inspections"] == []
    body = sync(client, volunteer, body["next_cursor"], limit=1)
    assert [i["id"] for i in body["inspections"]] == [later["id"]] and body["sites"] == []
    assert sync(client, volunteer, body["next_cursor"])["inspections"] == []


# --- tombstones: sites that left the caller's districts --------------------------------------------

def drain(client, account, cursor=None, limit=200):
    """Every page of a sync from the cursor: (sites, removed ids, the last cursor), in page order."""
    sites, removed = [], []
    while True:
        body = sync(client, account, cursor, limit=limit)
        sites += [site["id"] for site in body["sites"]]
        removed += [item["id"] for item in body["removed"]]
        assert all(item["type"] == "site" for item in body["removed"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return sites, removed, cursor


def move_site(client, admin, site_id, district):
    response = client.patch(f"/api/v1/sites/{site_id}", headers=admin.headers, json={"district": district})
    assert response.status_code == 200, response.get_json()


def test_a_site_moved_to_another_district_is_removed_from_the_old_districts_phones(client, admin, make_volunteer):
    taraz, merke = make_volunteer("taraz"), make_volunteer("merke")
    school = create_site(client, admin, name="School")
    road = create_site(client, admin, name="Road")
    taraz_cursor, merke_cursor = sync(client, taraz)["next_cursor"], sync(client, merke)["next_cursor"]
    move_site(client, admin, school["id"], "merke")

    body = sync(client, taraz, taraz_cursor)
    assert body["removed"] == [{"type": "site", "id": school["id"]}] and body["sites"] == []
    assert [site["id"] for site in sync(client, merke, merke_cursor)["sites"]] == [school["id"]]
    # Told once: the next sync from the new cursor has nothing.
    assert sync(client, taraz, body["next_cursor"])["removed"] == []
    # A first sync never lists what the phone cannot hold.
    assert sync(client, taraz)["removed"] == [] and [s["id"] for s in sync(client, taraz)["sites"]] == [road["id"]]


def test_a_site_that_comes_back_is_sent_again_not_removed(client, admin, volunteer):
    school = create_site(client, admin, name="School")
    cursor = sync(client, volunteer)["next_cursor"]
    move_site(client, admin, school["id"], "merke")
    move_site(client, admin, school["id"], "taraz")
    body = sync(client, volunteer, cursor)
    assert body["removed"] == [] and [site["id"] for site in body["sites"]] == [school["id"]]


def test_removals_page_in_commit_order_with_the_other_changes(client, admin, volunteer):
    first, second, third = (create_site(client, admin, name=f"Site {n}") for n in range(3))
    cursor = sync(client, volunteer)["next_cursor"]
    move_site(client, admin, first["id"], "merke")
    client.patch(f"/api/v1/sites/{second['id']}", headers=admin.headers, json={"contractor": "New LLP"})
    move_site(client, admin, third["id"], "shu")
    pages = []
    while True:
        body = sync(client, volunteer, cursor, limit=1)
        pages.append((body["sites"] and body["sites"][0]["id"], [item["id"] for item in body["removed"]]))
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert pages[:3] == [([], [first["id"]]), (second["id"], []), ([], [third["id"]])]


def test_an_inspector_keeps_a_site_that_moves_between_two_of_their_districts(client, admin, make_inspector):
    inspector = make_inspector(["taraz", "merke"])
    school = create_site(client, admin, name="School")
    cursor = sync(client, inspector)["next_cursor"]
    move_site(client, admin, school["id"], "merke")
    body = sync(client, inspector, cursor)
    assert body["removed"] == [] and [site["id"] for site in body["sites"]] == [school["id"]]


def test_a_volunteer_moved_to_another_district_drops_the_old_sites_and_gets_all_the_new_ones(
        client, admin, make_volunteer):
    volunteer = make_volunteer("taraz")
    taraz_sites = [create_site(client, admin, name=f"Taraz {n}")["id"] for n in range(3)]
    merke_sites = [create_site(client, admin, name=f"Merke {n}", district="merke")["id"] for n in range(2)]
    _, _, cursor = drain(client, volunteer)
    moved_away = taraz_sites.pop()
    move_site(client, admin, moved_away, "shu")  # left taraz after the phone's cursor, before the volunteer moved
    response = client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json={"district": "merke"})
    assert response.status_code == 200

    sites, removed, cursor = drain(client, volunteer, cursor, limit=1)
    assert sorted(removed) == sorted(taraz_sites + [moved_away])
    # The merke sites were created before the old cursor: the sync started over to send them.
    assert sorted(set(sites)) == sorted(merke_sites)
    assert drain(client, volunteer, cursor)[:2] == ([], [])


def test_a_cursor_given_out_before_tombstones_still_works(client, admin, volunteer):
    from volunteer_api.pagination import encode_cursor

    create_site(client, admin, name="School")
    body = sync(client, volunteer, encode_cursor([0]))
    assert len(body["sites"]) == 1 and body["removed"] == []


def test_a_cursor_given_out_before_transaction_ids_still_works(app, client, admin, volunteer):
    """A cursor of a bare change number and the coverage change seen (before migration 0008) still pages on."""
    from volunteer_api.pagination import encode_cursor

    first = create_site(client, admin, name="First")
    second = create_site(client, admin, name="Second")
    with app.app_context():
        first_seq = db.session.get(Site, int(first["id"])).change_seq
    body = sync(client, volunteer, encode_cursor([first_seq, 0]))
    assert second["id"] in [site["id"] for site in body["sites"]] and body["removed"] == []
    assert sync(client, volunteer, body["next_cursor"])["sites"] == []


@pytest.mark.postgres
def test_the_horizon_ignores_other_databases_except_under_one_snapshot(app):
    """A write left open in another database of the cluster holds no phone back (READ COMMITTED); a transaction
    that keeps one snapshot (REPEATABLE READ) is bounded by that snapshot's own xmin, that write included."""
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL
    from volunteer_api.change_numbers import sync_horizon

    elsewhere = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/postgres")
    try:
        with elsewhere.connect() as connection:
            other_xid = connection.scalar(text("SELECT pg_current_xact_id()::text::bigint"))  # held open
            with app.app_context():
                # A later write that ends: the snapshots' xmax moves past the one held open elsewhere.
                db.session.execute(text("SELECT pg_current_xact_id()"))
                db.session.commit()
                assert sync_horizon() > other_xid
                db.session.rollback()
                db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                assert sync_horizon() <= other_xid
                db.session.rollback()
            connection.rollback()
    finally:
        elsewhere.dispose()
