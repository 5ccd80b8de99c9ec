"""The console's flows that matter, in Chromium: triage by keyboard, a saving approved, a CSV imported,
and axe-core over every screen."""
import re
import uuid

from playwright.sync_api import expect

from tests.browser.test_console_sign_in import sign_in
from tests.field_support import FIVE_KM_NORTH, create_site, file_inspection
from tests.support import next_phone


def test_an_inspector_clears_the_queue_by_keyboard_in_kazakh(page, client, admin, inspector, volunteer, request_log):
    site = create_site(client, admin, name="№ 12 мектеп")
    first = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    second = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH, severity="critical")
    page.goto("/console/sign-in")
    page.get_by_role("button", name="Қазақша").click()
    sign_in(page, inspector.login)
    expect(page.locator("h1")).to_have_text("Қарау кезегі")
    page.wait_for_selector("html[data-ready]", state="attached")
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text(f"№ {first['id']}")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/console/inspections/{first['id']}"))
    page.wait_for_selector("html[data-ready]", state="attached")
    expect(page.locator(".map .leaflet-interactive").first).to_be_visible()  # the map drew, without tiles
    page.on("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("c")  # the comment is required: the key focuses it first
    expect(page.locator("#comment")).to_be_focused()
    page.locator("#comment").fill("Фото расталды.")
    page.locator("body").click()
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(f"/console/inspections/{second['id']}"))
    expect(page.get_by_role("status")).to_contain_text("Шешім сақталды")
    page.wait_for_selector("html[data-ready]", state="attached")
    page.locator("#comment").fill("Дубль.")
    page.locator("button[value=dismissed]").click()
    expect(page.locator("h1")).to_have_text("Қарау кезегі")
    expect(page.get_by_text("Мұнда қарайтын ештеңе жоқ")).to_be_visible()
    statuses = [client.get(f"/api/v1/inspections/{i['id']}", headers=inspector.headers).get_json()["status"]
                for i in (first, second)]
    assert statuses == ["confirmed", "dismissed"]
    assert request_log.foreign() == []


def test_an_inspector_approves_a_saving(page, client, admin, inspector, volunteer):
    site = create_site(client, admin)
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "250000000.00",
        "category": "contract_reduced", "description": "Смета уменьшена после проверки."}).get_json()
    sign_in(page, inspector.login)
    page.get_by_role("link", name=re.compile("Экономия на проверку")).click()
    page.get_by_role("link", name=site["name"]).click()
    expect(page.get_by_text("250\u00a0000\u00a0000,00\u00a0₸")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Одобрить").click()
    expect(page.get_by_role("status")).to_contain_text("Решение сохранено")
    assert client.get(f"/api/v1/savings/{saving['id']}", headers=inspector.headers).get_json()["status"] == "approved"


def test_an_admin_imports_a_csv_with_a_bad_row_then_a_good_one(page, admin, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"full_name,phone,email,district\nАйгерим Сапарова,{next_phone()},,taraz\nБолат Ким,123,,taraz\n",
                   encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text(f"full_name,phone,email,district\nАйгерим Сапарова,{next_phone()},,taraz\n"
                    f"Болат Ким,{next_phone()},,merke\n", encoding="utf-8")
    sign_in(page, admin.login)
    page.get_by_role("link", name="Волонтёры").click()
    page.get_by_role("link", name="Импорт из файла CSV").click()
    page.get_by_label("Файл CSV").set_input_files(str(bad))
    page.get_by_role("button", name="Проверить файл").click()
    expect(page.locator("tr.row-error")).to_have_count(1)
    expect(page.locator("tr.row-error")).to_contain_text("Болат Ким")
    expect(page.get_by_role("button", name=re.compile("Создать"))).to_have_count(0)
    page.get_by_label("Файл CSV").set_input_files(str(good))
    page.get_by_role("button", name="Проверить файл").click()
    expect(page.get_by_role("status")).to_contain_text("Все 2 строки без ошибок")
    page.get_by_role("button", name=re.compile("Создать 2 волонтёров")).click()
    expect(page.locator("article.slip")).to_have_count(2)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("article.slip").first).to_be_visible()


def test_axe_finds_nothing_serious_on_any_screen(page, client, admin, inspector, volunteer, axe_check, run_jobs):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH, notes="Нет касок")
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "1000.00",
        "category": "other", "description": "Экономия."}).get_json()
    run_jobs()
    page.goto("/console/sign-in")
    axe_check(page)
    sign_in(page, admin.login)
    screens = ["/console/", "/console/?kind=savings", f"/console/inspections/{inspection['id']}",
               f"/console/savings/{saving['id']}", "/console/inbox", "/console/volunteers",
               "/console/volunteers/import", "/console/inspectors", "/console/sites", f"/console/sites/{site['id']}",
               "/console/totals", "/console/audit", "/console/jobs"]
    for screen in screens:
        page.goto(screen)
        expect(page.locator("h1")).to_be_visible()
        axe_check(page)
    page.set_viewport_size({"width": 360, "height": 800})
    for screen in ("/console/", f"/console/inspections/{inspection['id']}", "/console/totals"):
        page.goto(screen)
        axe_check(page)
