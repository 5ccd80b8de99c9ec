"""Who filed it, about what: summaries in every inspection and savings report, at no extra query per page."""
import threading
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.field_support import create_site, file_inspection

PAGE = 50


@contextmanager
def counted_statements(app):
    """The SQL statements this thread sends while the block runs (the test client answers in this thread;
    the job runner's thread and the sweeps are not counted)."""
    from volunteer_api.extensions import db

    with app.app_context():
        engine = db.engine
    statements, me = [], threading.get_ident()

    def count(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == me:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, url, headers) -> int:
    with counted_statements(app) as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return len(statements)


@pytest.fixture
def filings(app, client, admin, make_volunteer):
    """PAGE inspections (each with a photo) and PAGE savings reports by 5 volunteers about 5 sites, as rows."""
    from tests.alert_helpers import flag_inspection
    from volunteer_api.extensions import db
    from volunteer_api.inspections.models import Photo
    from volunteer_api.savings.models import SavingsReport

    sites = [create_site(client, admin, name=f"School No. {n}") for n in range(5)]
    volunteers = [make_volunteer() for _ in range(5)]
    with app.app_context():
        for n in range(PAGE):
            volunteer_id, site_id = int(volunteers[n % 5].id), int(sites[n % 5]["id"])
            inspection_id = flag_inspection(volunteer_id=volunteer_id, site_id=site_id, flagged=False)
            db.session.add(Photo(inspection_id=inspection_id, sha256=f"{n:064x}", content_type="image/jpeg",
                                 size_bytes=1, width=1, height=1))
            db.session.add(SavingsReport(client_uuid=str(uuid.uuid4()), request_hash="0" * 64,
                                         volunteer_id=volunteer_id, site_id=site_id, district="taraz",
                                         amount_tiyn=10_000, category="other", description="Saved."))
        db.session.commit()
    return sites, volunteers


@pytest.mark.parametrize("listing", ["inspections", "savings"])
def test_a_page_of_50_costs_the_queries_of_a_page_of_1(app, client, admin, filings, listing):
    one = statements_for(app, client, f"/api/v1/{listing}?limit=1", admin.headers)
    fifty = statements_for(app, client, f"/api/v1/{listing}?limit={PAGE}", admin.headers)
    # Sign-in check + the page (summaries joined into it) + the page's photos (inspections only).
    assert fifty == one == (3 if listing == "inspections" else 2)


@pytest.mark.parametrize("listing", ["inspections", "savings"])
def test_each_item_names_its_volunteer_and_site(client, admin, filings, listing):
    sites, volunteers = filings
    items = client.get(f"/api/v1/{listing}?limit={PAGE}", headers=admin.headers).get_json()["items"]
    assert len(items) == PAGE
    by_id = {site["id"]: site for site in sites}
    for item in items:
        assert item["volunteer"]["id"] == item["volunteer_id"]
        assert set(item["volunteer"]) == {"id", "full_name", "badge_number"}
        assert item["volunteer"]["full_name"] == "Volunteer Volunteerov"
        assert item["volunteer"]["badge_number"].startswith("ZHB-")
        site = by_id[item["site_id"]]
        assert item["site"] == {"id": site["id"], "name": site["name"], "district": "taraz"}


def test_a_filed_and_a_read_inspection_carry_the_summaries(client, admin, volunteer):
    site = create_site(client, admin)
    filed = file_inspection(client, volunteer, site["id"])
    read = client.get(f"/api/v1/inspections/{filed['id']}", headers=volunteer.headers).get_json()
    for answer in (filed, read):
        assert answer["volunteer"]["id"] == volunteer.id and answer["site"]["name"] == site["name"]


def test_inspectors_read_the_volunteers_of_their_districts_only(client, admin, make_inspector, make_volunteer):
    taraz, merke = make_volunteer("taraz"), make_volunteer("merke")
    inspector = make_inspector(["taraz"])
    listed = client.get("/api/v1/volunteers", headers=inspector.headers).get_json()["items"]
    assert [item["id"] for item in listed] == [taraz.id]
    assert client.get("/api/v1/volunteers?district=merke", headers=inspector.headers).get_json()["items"] == []
    assert client.get(f"/api/v1/volunteers/{taraz.id}", headers=inspector.headers).get_json()["district"] == "taraz"
    assert client.get(f"/api/v1/volunteers/{merke.id}", headers=inspector.headers).status_code == 404
    # Reading only: changes stay with the admins.
    assert client.patch(f"/api/v1/volunteers/{taraz.id}", headers=inspector.headers,
                        json={"full_name": "Changed"}).status_code == 403
    assert len(client.get("/api/v1/volunteers", headers=admin.headers).get_json()["items"]) == 2
