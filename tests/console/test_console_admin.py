"""The administrators' screens through Flask's test client."""
import io

from tests.console.conftest import page_text
from tests.field_support import create_site
from tests.support import next_phone


def csv_upload(text: str):
    return {"file": (io.BytesIO(text.encode("utf-8")), "people.csv")}


def volunteer_count(client, admin) -> int:
    return len(client.get("/api/v1/volunteers?limit=200", headers=admin.headers).get_json()["items"])


def test_an_import_shows_every_row_and_its_errors_then_creates_all_and_prints_slips(client, console, admin):
    browser = console(admin)
    good, bad = next_phone(), "12345"
    html = page_text(browser.get("/console/volunteers/import"))
    assert "full_name,phone,email,district" in html
    bad_file = f"full_name,phone,email,district\nАйгерим Сапарова,{good},,taraz\nБолат Ким,{bad},,taraz\n"
    response = browser.client.post("/console/volunteers/import", data={"csrf_token": browser.csrf, **csv_upload(bad_file)},
                                   content_type="multipart/form-data")
    html = page_text(response)
    assert response.status_code == 422
    assert "Айгерим Сапарова" in html and "Болат Ким" in html and 'class="row-error"' in html
    assert volunteer_count(client, admin) == 0
    good_file = f"full_name,phone,email,district\nАйгерим Сапарова,{good},,taraz\nБолат Ким,{next_phone()},,merke\n"
    response = browser.client.post("/console/volunteers/import", data={"csrf_token": browser.csrf, **csv_upload(good_file)},
                                   content_type="multipart/form-data")
    html = page_text(response)
    assert response.status_code == 200 and "Все 2 строки без ошибок" in html
    assert volunteer_count(client, admin) == 0  # the preview created nothing
    browser._remember_token(response)
    response = browser.post("/console/volunteers/import", {"confirm": "1", "content": good_file})
    html = page_text(response)
    assert response.status_code == 200 and html.count('class="slip"') == 2
    assert "Одноразовый пароль" in html
    assert volunteer_count(client, admin) == 2


def test_the_regions_144_volunteers_are_registered_from_one_csv_with_a_slip_each(client, console, admin):
    import csv

    from volunteer_api.districts.services import DISTRICTS_CSV

    with DISTRICTS_CSV.open(encoding="utf-8") as rows:
        districts = [row["code"] for row in csv.DictReader(rows)]
    people = [(f"Волонтёр Жамбылский {n:03d}", next_phone(), districts[n % len(districts)]) for n in range(144)]
    text = "\ufefffull_name,phone,email,district\n" + "".join(f"{name},{phone},,{district}\n"
                                                            for name, phone, district in people)
    browser = console(admin)
    response = browser.client.post("/console/volunteers/import", data={"csrf_token": browser.csrf, **csv_upload(text)},
                                   content_type="multipart/form-data")
    preview = page_text(response)
    assert response.status_code == 200 and 'class="row-error"' not in preview
    assert all(name in preview for name, _, _ in people)  # every row shown before anything is created
    assert volunteer_count(client, admin) == 0
    browser._remember_token(response)
    slips = page_text(browser.post("/console/volunteers/import", {"confirm": "1", "content": text}))
    assert slips.count('class="slip"') == 144
    assert all(phone in slips for _, phone, _ in people)
    volunteers = client.get("/api/v1/volunteers?limit=200", headers=admin.headers).get_json()["items"]
    assert sorted(v["phone"] for v in volunteers) == sorted(phone for _, phone, _ in people)
    assert len({v["badge_number"] for v in volunteers}) == 144
    assert all(v["badge_number"] in slips for v in volunteers)  # each slip names its volunteer's badge


def test_registering_one_volunteer_prints_their_slip_and_a_bad_phone_is_explained(client, console, admin):
    browser = console(admin)
    response = browser.post("/console/volunteers", {"full_name": "Ерлан Нурлан", "phone": "8 701 555 12 34",
                                                    "district": "taraz"})
    assert response.status_code == 200 and 'class="slip"' in page_text(response) and "+77015551234" in page_text(response)
    browser.get("/console/volunteers")
    response = browser.post("/console/volunteers", {"full_name": "Ерлан", "phone": "12", "district": "taraz"})
    assert response.status_code == 422 and 'aria-invalid="true"' in page_text(response)


def test_volunteers_are_found_by_badge_and_deactivated(client, console, admin, make_volunteer):
    volunteer = make_volunteer()
    badge = client.get(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers).get_json()["badge_number"]
    browser = console(admin)
    html = page_text(browser.get(f"/console/volunteers?q={badge}"))
    assert volunteer.login in html
    response = browser.post(f"/console/volunteers/{volunteer.id}/active", {"active": "0"})
    assert response.status_code == 303
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401


def test_an_inspector_is_registered_with_districts_and_moved(client, console, admin):
    browser = console(admin)
    response = browser.client.post("/console/inspectors", data={
        "csrf_token": browser.csrf, "full_name": "Гульнара Ахметова", "email": "g.akhmetova@example.kz",
        "password": "long enough password", "districts": ["taraz", "merke"]})
    assert response.status_code == 303
    html = page_text(browser.get("/console/inspectors"))
    assert "Гульнара Ахметова" in html
    inspector_id = client.get("/api/v1/inspectors", headers=admin.headers).get_json()["items"][0]["id"]
    browser.client.post(f"/console/inspectors/{inspector_id}", data={"csrf_token": browser.csrf, "districts": ["shu"]})
    assert client.get(f"/api/v1/inspectors/{inspector_id}", headers=admin.headers).get_json()["districts"] == ["shu"]


def test_a_site_is_registered_from_typed_coordinates_and_edited(client, console, admin):
    browser = console(admin)
    browser.get("/console/sites")
    response = browser.post("/console/sites", {"name": "Детский сад «Балапан»", "kind": "kindergarten",
                                               "district": "taraz", "lat": "42.91", "lon": "71.36",
                                               "budget_kzt": "350000000.00", "status": "under_construction"})
    assert response.status_code == 303
    site_id = response.headers["Location"].split("/sites/")[1].split("?")[0]
    html = page_text(browser.get(f"/console/sites/{site_id}"))
    assert "350\u00a0000\u00a0000,00\u00a0₸" in html
    response = browser.post(f"/console/sites/{site_id}", {"contractor": "Құрылыс ЖШС"})
    assert response.status_code == 303
    assert client.get(f"/api/v1/sites/{site_id}", headers=admin.headers).get_json()["contractor"] == "Құрылыс ЖШС"
    response = browser.post("/console/sites", {"name": "Без координат", "kind": "school", "district": "taraz",
                                               "budget_kzt": "1.5.0"})
    assert response.status_code == 422 and "ничего не сохранено" in page_text(response)


def test_the_totals_show_the_next_milestone_and_export(client, console, admin):
    browser = console(admin)
    html = page_text(browser.get("/console/totals"))
    assert "50\u00a0000\u00a0000,00\u00a0₸" in html and "data-chart=" in html
    response = browser.get("/console/totals/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    response = browser.get("/console/totals/export.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    # Personal data: never in the browser's disk cache (send_file's own default is "no-cache").
    assert response.headers["Cache-Control"] == "no-store"


def test_the_audit_trail_lists_events_and_verifies_the_chain(client, console, admin):
    create_site(client, admin)
    browser = console(admin)
    assert "site.created" in page_text(browser.get("/console/audit?object_type=site"))
    response = browser.htmx_post("/console/audit/verify")
    assert response.status_code == 200 and "Цепочка цела" in page_text(response)


def test_dead_jobs_are_listed_and_retried(app, console, admin):
    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob

    with app.app_context():
        job = OutboxJob(name="savings.recompute_totals", payload={}, status="dead", attempts=8, last_error="boom")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    browser = console(admin)
    assert "boom" in page_text(browser.get("/console/jobs"))
    assert browser.post(f"/console/jobs/{job_id}/retry").status_code == 303
    with app.app_context():
        assert db.session.get(OutboxJob, job_id).status in ("pending", "done")


def test_an_inspector_cannot_open_the_admin_screens(console, inspector):
    browser = console(inspector)
    for path in ("/console/volunteers", "/console/inspectors", "/console/sites", "/console/audit", "/console/jobs"):
        assert browser.get(path).status_code == 403, path
    assert browser.get("/console/totals").status_code == 200
