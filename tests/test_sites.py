from sqlalchemy import select

from tests.field_support import TARAZ, create_site, file_inspection, site_body
from volunteer_api.audit.models import AuditEvent
from volunteer_api.extensions import db
from volunteer_api.savings.models import SavingsTotal

SITES = "/api/v1/sites"


def test_admin_registers_a_site_with_an_exact_budget(client, admin):
    site = create_site(client, admin, budget_kzt="987654321012.34")
    assert site["budget_kzt"] == "987654321012.34"
    assert site["location"] == {"lat": TARAZ[0], "lon": TARAZ[1]}
    assert site["status"] == "under_construction" and site["geofence_radius_m"] == 300
    assert site["open_flags"] == 0 and site["approved_savings_kzt"] == "0.00"
    assert isinstance(site["id"], str)
    assert client.get(f"{SITES}/{site['id']}", headers=admin.headers).get_json()["budget_kzt"] == "987654321012.34"


def test_integer_budget_is_tenge_and_a_float_budget_is_refused(client, admin):
    assert create_site(client, admin, budget_kzt=1250000)["budget_kzt"] == "1250000.00"
    response = client.post(SITES, headers=admin.headers, json=site_body(budget_kzt=1250000.5))
    assert response.status_code == 422 and "budget_kzt" in response.get_json()["errors"]


def test_site_with_bad_fields_is_422_naming_them(client, admin):
    body = site_body(kind="castle", district="atlantis", location={"lat": 91, "lon": 71})
    response = client.post(SITES, headers=admin.headers, json=body)
    assert response.status_code == 422
    assert {"kind", "location.lat"} <= set(response.get_json()["errors"])
    response = client.post(SITES, headers=admin.headers, json=site_body(district="atlantis"))
    assert response.status_code == 422 and "district" in response.get_json()["errors"]


def test_only_admins_register_and_edit_sites(client, admin, volunteer, inspector):
    site = create_site(client, admin)
    for account in (volunteer, inspector):
        assert client.post(SITES, headers=account.headers, json=site_body()).status_code == 403
        assert client.patch(f"{SITES}/{site['id']}", headers=account.headers, json={"name": "X"}).status_code == 403
        assert client.get(f"{SITES}/{site['id']}", headers=account.headers).status_code == 200
    assert client.get(SITES).status_code == 401


def test_admin_edits_a_site_and_the_change_is_audited(client, admin, app):
    site = create_site(client, admin)
    response = client.patch(f"{SITES}/{site['id']}", headers=admin.headers,
                            json={"status": "suspended", "budget_kzt": "100.10", "location": {"lat": 43.0, "lon": 71.5}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "suspended" and body["budget_kzt"] == "100.10"
    assert body["location"] == {"lat": 43.0, "lon": 71.5}
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "site.updated")).one()
        assert event.before["status"] == "under_construction" and event.after["budget_kzt"] == "100.10"


def test_unknown_site_is_404(client, admin):
    assert client.get(f"{SITES}/999999", headers=admin.headers).status_code == 404
    assert client.get(f"{SITES}/abc", headers=admin.headers).status_code == 404
    assert client.patch(f"{SITES}/999999", headers=admin.headers, json={"name": "X"}).status_code == 404


def test_site_shows_open_flags_and_the_workers_approved_savings(client, app, admin, volunteer):
    site = create_site(client, admin)
    file_inspection(client, volunteer, site["id"], severity="critical")
    file_inspection(client, volunteer, site["id"])
    with app.app_context():
        db.session.add(SavingsTotal(scope="site", key=site["id"], approved_tiyn=12345678901, approved_count=2))
        db.session.commit()
    body = client.get(f"{SITES}/{site['id']}", headers=volunteer.headers).get_json()
    assert body["open_flags"] == 1
    assert body["approved_savings_kzt"] == "123456789.01"
    listed = client.get(SITES, headers=volunteer.headers).get_json()["items"]
    assert listed[0]["open_flags"] == 1 and listed[0]["approved_savings_kzt"] == "123456789.01"


def test_sites_filter_by_district_status_and_flagged(client, admin, volunteer):
    school = create_site(client, admin, name="School")
    create_site(client, admin, name="Road", kind="road", district="merke", status="planned")
    create_site(client, admin, name="Clinic", kind="clinic", status="completed")
    file_inspection(client, volunteer, school["id"], severity="high")

    def names(query):
        response = client.get(f"{SITES}?{query}", headers=admin.headers)
        assert response.status_code == 200, response.get_json()
        return [item["name"] for item in response.get_json()["items"]]

    assert names("") == ["Clinic", "Road", "School"]
    assert names("district=merke") == ["Road"]
    assert names("status=completed") == ["Clinic"]
    assert names("flagged=true") == ["School"]
    assert names("flagged=false") == ["Clinic", "Road"]
    assert names("district=taraz&status=under_construction") == ["School"]


def test_site_list_pages_by_keyset(client, admin):
    for number in range(5):
        create_site(client, admin, name=f"Site {number}")
    first = client.get(f"{SITES}?limit=2", headers=admin.headers).get_json()
    second = client.get(f"{SITES}?limit=2&cursor={first['next_cursor']}", headers=admin.headers).get_json()
    third = client.get(f"{SITES}?limit=2&cursor={second['next_cursor']}", headers=admin.headers).get_json()
    names = [item["name"] for page in (first, second, third) for item in page["items"]]
    assert names == ["Site 4", "Site 3", "Site 2", "Site 1", "Site 0"] and third["next_cursor"] is None


def test_sites_near_me_answers_nearest_first_with_distances(client, admin, volunteer):
    lat, lon = TARAZ
    create_site(client, admin, name="1.1 km", location={"lat": lat + 0.01, "lon": lon})
    create_site(client, admin, name="at the point", location={"lat": lat, "lon": lon})
    create_site(client, admin, name="0.5 km", location={"lat": lat, "lon": lon + 0.0061})
    create_site(client, admin, name="far", location={"lat": lat + 0.05, "lon": lon})
    create_site(client, admin, name="other district", district="merke", location={"lat": lat + 0.001, "lon": lon})
    response = client.get(f"{SITES}?near={lat},{lon}&radius_m=2000&district=taraz", headers=volunteer.headers)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == ["at the point", "0.5 km", "1.1 km"]
    assert items[0]["distance_m"] == 0
    assert 490 < items[1]["distance_m"] < 510
    assert 1100 < items[2]["distance_m"] < 1120  # geodesic: 0.01° of latitude at 42.9° N is ~1110.6 m


def test_sites_near_me_pages_in_distance_order(client, admin):
    lat, lon = TARAZ
    for step in (4, 1, 3, 2, 5):
        create_site(client, admin, name=f"{step}", location={"lat": lat + step * 0.001, "lon": lon})
    url = f"{SITES}?near={lat},{lon}&radius_m=1000&limit=2"
    first = client.get(url, headers=admin.headers).get_json()
    second = client.get(f"{url}&cursor={first['next_cursor']}", headers=admin.headers).get_json()
    third = client.get(f"{url}&cursor={second['next_cursor']}", headers=admin.headers).get_json()
    assert [item["name"] for page in (first, second, third) for item in page["items"]] == ["1", "2", "3", "4", "5"]
    assert third["next_cursor"] is None


def test_bad_near_arguments_are_422(client, admin):
    for query in ("near=91,71", "near=abc", "radius_m=500", "near=42.9,71.3&radius_m=0", "near=42.9,71.3&radius_m=50001"):
        response = client.get(f"{SITES}?{query}", headers=admin.headers)
        assert response.status_code == 422, query


CSV_HEADER = "name,kind,district,address,lat,lon,geofence_radius_m,budget_kzt,contractor,contract_number,planned_completion,status\n"


def _upload(client, admin, text: str, query: str = ""):
    import io

    return client.post(f"{SITES}/import{query}", headers=admin.headers,
                       data={"file": (io.BytesIO(text.encode("utf-8-sig")), "sites.csv")},
                       content_type="multipart/form-data")


def test_csv_import_registers_every_site(client, admin):
    text = CSV_HEADER + (
        "Школа №12,school,taraz,Абая 5,42.91,71.37,250,1500000000.50,ТОО Курылыс,12-2026,2027-06-30,planned\n"
        "Детский сад,kindergarten,merke,,42.87,73.18,,800000000,,,,\n"
        "\n"
    )
    response = _upload(client, admin, text)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created"] == 2 and body["valid_rows"] == 2
    school, kindergarten = body["sites"]
    assert school["name"] == "Школа №12" and school["budget_kzt"] == "1500000000.50" and school["geofence_radius_m"] == 250
    assert kindergarten["status"] == "under_construction" and kindergarten["address"] is None
    assert len(client.get(SITES, headers=admin.headers).get_json()["items"]) == 2


def test_csv_import_with_bad_rows_creates_nothing_and_names_the_rows(client, admin):
    text = CSV_HEADER + (
        "Good,school,taraz,,42.91,71.37,,1000,,,,\n"
        "Bad kind,castle,taraz,,42.91,71.37,,1000,,,,\n"
        "Bad money,school,taraz,,42.91,71.37,,10.555,,,,\n"
        "Bad place,school,taraz,,95,71.37,,1000,,,,\n"
        "Unknown district,school,atlantis,,42.91,71.37,,1000,,,,\n"
    )
    response = _upload(client, admin, text)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"row 3", "row 4", "row 5", "row 6"}
    assert "district" in errors["row 6"]
    assert "kind" in errors["row 3"] and "budget_kzt" in errors["row 4"] and "lat" in errors["row 5"]["location"]
    assert client.get(SITES, headers=admin.headers).get_json()["items"] == []


def test_csv_import_dry_run_validates_only(client, admin):
    response = _upload(client, admin, CSV_HEADER + "Good,school,taraz,,42.91,71.37,,1000,,,,\n", "?dry_run=true")
    assert response.status_code == 201
    assert response.get_json()["valid_rows"] == 1 and response.get_json()["created"] == 0
    assert client.get(SITES, headers=admin.headers).get_json()["items"] == []


def test_csv_import_with_a_wrong_header_is_422(client, admin):
    response = _upload(client, admin, "name,kind\nA,school\n")
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_near_me_pages_agree_with_the_exact_geodesic_order(app):
    """Many sites at random around a point: every page, in order, is what brute-force geodesic gives."""
    import random

    from volunteer_api.geo import distance_m
    from volunteer_api.sites.models import Site
    from volunteer_api.sites.services import list_sites

    rng = random.Random(7)
    lat, lon = TARAZ
    with app.app_context():
        db.session.add_all(Site(name=f"S{n}", kind="school", district="taraz", lat=lat + rng.uniform(-0.1, 0.1),
                                lon=lon + rng.uniform(-0.13, 0.13), budget_tiyn=100, change_seq=n + 1)
                           for n in range(300))
        db.session.commit()
        expected = sorted((round(distance_m(lat, lon, s.lat, s.lon) * 1000), s.id)
                          for s in db.session.scalars(select(Site)) if distance_m(lat, lon, s.lat, s.lon) <= 8000)
        got, cursor = [], None
        while True:
            items, cursor = list_sites(near=(lat, lon), radius_m=8000, limit=17, cursor=cursor)
            got.extend((round(item.distance_m * 1000), item.id) for item in items)
            if cursor is None:
                break
        assert [site_id for _, site_id in got] == [site_id for _, site_id in expected]
        assert len(got) > 100


def test_a_site_moved_to_another_district_takes_its_open_reports_to_the_new_districts_inspectors(
        client, app, admin, volunteer, make_inspector, run_jobs):
    import uuid

    old, new = make_inspector(("taraz",)), make_inspector(("baizak",))
    site = create_site(client, admin)
    decided = file_inspection(client, volunteer, site["id"], severity="high")
    assert client.post(f"/api/v1/inspections/{decided['id']}/review", headers=old.headers,
                       json={"decision": "confirmed", "comment": "Seen it"}).status_code == 200
    flagged = file_inspection(client, volunteer, site["id"], severity="high")
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "1000.00", "category": "overpricing_prevented",
        "description": "Cheaper cement"})
    assert saving.status_code == 201, saving.get_json()
    saving = saving.get_json()
    run_jobs()
    cursor = client.get("/api/v1/sync", headers=volunteer.headers).get_json()["next_cursor"]

    moved = client.patch(f"{SITES}/{site['id']}", headers=admin.headers, json={"district": "baizak"})
    assert moved.status_code == 200 and moved.get_json()["district"] == "baizak"
    run_jobs()
    # The volunteer's phone learns of the moved reports (their district is in its copy) through /sync.
    synced = client.get("/api/v1/sync", headers=volunteer.headers, query_string={"since": cursor}).get_json()
    assert [item["id"] for item in synced["inspections"]] == [flagged["id"]]
    assert [item["id"] for item in synced["savings"]] == [saving["id"]]

    # The new district's inspector sees, is alerted about and decides the open reports...
    assert client.get(f"/api/v1/inspections/{flagged['id']}", headers=new.headers).get_json()["district"] == "baizak"
    expected = {("inspection_flagged", flagged["id"]), ("savings_pending", saving["id"])}

    def alerted() -> set:
        alerts = client.get("/api/v1/alerts", headers=new.headers).get_json()["items"]
        return {(alert["kind"], alert["subject"]["id"]) for alert in alerts}

    # The real worker makes the alerts after the move's commit: wait for them, not for the web side alone.
    run_jobs(lambda: alerted() >= expected)
    assert client.post(f"/api/v1/inspections/{flagged['id']}/review", headers=new.headers,
                       json={"decision": "dismissed", "comment": "Fine now"}).status_code == 200
    assert client.post(f"/api/v1/savings/{saving['id']}/review", headers=new.headers,
                       json={"decision": "approved"}).status_code == 200
    # ...the old one no longer sees them, but keeps what it decided.
    assert client.get(f"/api/v1/inspections/{flagged['id']}", headers=old.headers).status_code == 404
    assert client.get(f"/api/v1/savings/{saving['id']}", headers=old.headers).status_code == 404
    assert client.get(f"/api/v1/inspections/{decided['id']}", headers=old.headers).get_json()["district"] == "taraz"
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(["inspection.moved", "saving.moved"]))))
    assert actions == {"inspection.moved", "saving.moved"}


def test_an_inspection_returned_to_its_volunteer_moves_with_its_site_and_comes_back_to_the_new_district(
        client, app, admin, volunteer, make_inspector, run_jobs):
    old, new = make_inspector(("taraz",)), make_inspector(("baizak",))
    site = create_site(client, admin)
    returned = file_inspection(client, volunteer, site["id"], severity="high")
    assert client.post(f"/api/v1/inspections/{returned['id']}/review", headers=old.headers,
                       json={"decision": "returned", "comment": "Add a photo of the roof."}).status_code == 200
    run_jobs()

    assert client.patch(f"{SITES}/{site['id']}", headers=admin.headers, json={"district": "baizak"}).status_code == 200
    run_jobs()
    moved = client.get(f"/api/v1/inspections/{returned['id']}", headers=volunteer.headers).get_json()
    assert moved["district"] == "baizak" and moved["status"] == "returned"
    resubmitted = client.post(f"/api/v1/inspections/{returned['id']}/resubmit", headers=volunteer.headers,
                              json={"notes": "Added it."})
    assert resubmitted.status_code == 200, resubmitted.get_json()

    # The new district's inspector sees it, is alerted once (the resubmission, not the flag again) and decides it.
    assert client.get(f"/api/v1/inspections/{returned['id']}", headers=new.headers).status_code == 200

    def alerted() -> list:
        alerts = client.get("/api/v1/alerts", headers=new.headers).get_json()["items"]
        return sorted((alert["kind"], alert["subject"]["id"]) for alert in alerts)

    run_jobs(lambda: alerted())
    run_jobs()
    assert alerted() == [("inspection_resubmitted", returned["id"])]
    assert client.post(f"/api/v1/inspections/{returned['id']}/review", headers=new.headers,
                       json={"decision": "confirmed", "comment": "Seen it"}).status_code == 200
    assert client.get(f"/api/v1/inspections/{returned['id']}", headers=old.headers).status_code == 404
    with app.app_context():
        moves = db.session.execute(select(AuditEvent.object_id, AuditEvent.before, AuditEvent.after).where(
            AuditEvent.action == "inspection.moved")).all()
    assert [(str(object_id), before, after) for object_id, before, after in moves] == [
        (returned["id"], {"district": "taraz"}, {"district": "baizak"})]
