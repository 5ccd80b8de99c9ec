"""The console's flows that matter, in Chromium: triage by keyboard, a saving approved, a CSV imported,
and axe-core over every screen."""
import io
import re
import uuid

from playwright.sync_api import expect

from tests.browser.test_console_sign_in import sign_in
from tests.field_support import FIVE_KM_NORTH, TARAZ, create_site, file_inspection, gps_exif, image_bytes
from tests.support import next_phone


def attach_photo(client, volunteer, inspection_id, *, shade: int) -> None:
    data = image_bytes(size=(1600, 1200), color=(90 + 40 * shade, 110, 90), exif=gps_exif(*TARAZ))
    response = client.post(f"/api/v1/inspections/{inspection_id}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


# The lightbox's image: wait for it to load (or fail) and answer its natural width; 0 is a broken image.
LOADED_WIDTH = """async () => {
    const image = document.querySelector("[data-lightbox-image]");
    if (!image.complete || !image.naturalWidth) {
        await Promise.race([
            new Promise((done) => { image.addEventListener("load", done, { once: true });
                                    image.addEventListener("error", done, { once: true }); }),
            new Promise((done) => setTimeout(done, 10000)),
        ]);
    }
    return image.naturalWidth;
}"""


def ready(page) -> None:
    page.wait_for_selector("html[data-ready]", state="attached")


def test_an_inspector_clears_a_queue_of_flagged_inspections_with_photos_by_keyboard_in_kazakh(
        page, client, admin, inspector, volunteer, request_log, axe_check):
    site = create_site(client, admin, name="№ 12 мектеп")
    filed = [file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH, severity=severity)
             for severity in ("high", "critical", "medium")]
    for shade, inspection in enumerate(filed):
        attach_photo(client, volunteer, inspection["id"], shade=shade)
    answers = []  # what each confirmation is answered: True accepts, False cancels
    page.on("dialog", lambda dialog: dialog.accept() if answers.pop(0) else dialog.dismiss())
    page.goto("/console/sign-in")
    page.get_by_role("button", name="Қазақша").click()
    sign_in(page, inspector.login)
    expect(page.locator("h1")).to_have_text("Қарау кезегі")
    ready(page)
    axe_check(page)
    for key in ("j", "j", "k"):
        page.keyboard.press(key)
    expect(page.locator("tr.selected")).to_contain_text(f"№ {filed[0]['id']}")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/console/inspections/{filed[0]['id']}"))
    ready(page)
    expect(page.locator(".map .leaflet-interactive").first).to_be_visible()  # the map drew, without tiles
    expect(page.locator(".photo-facts").first).to_contain_text("көрсетілген нүктеден")
    axe_check(page)

    # The photo: its preview in the list, then large in the lightbox, the original one click away.
    page.locator(".photo-open").first.click()
    expect(page.locator("#lightbox")).to_be_visible()
    assert page.evaluate(LOADED_WIDTH) == 1280
    expect(page.locator("[data-lightbox-original]")).to_have_attribute(
        "href", re.compile(f"/console/inspections/{filed[0]['id']}/photos/\\d+$"))
    axe_check(page)
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()

    # c: the comment is required, so the key focuses it first; then c again, confirmed.
    page.keyboard.press("c")
    expect(page.locator("#comment")).to_be_focused()
    page.locator("#comment").fill("Фото расталды.")
    page.locator("body").click()
    answers.append(True)
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(f"/console/inspections/{filed[1]['id']}"))
    expect(page.get_by_role("status")).to_contain_text("Шешім сақталды")
    ready(page)
    axe_check(page)

    # d, cancelled at the confirmation: nothing changes; d again, accepted.
    page.locator("#comment").fill("Дубль.")
    page.locator("body").click()
    answers.extend([False, True])
    page.keyboard.press("d")
    expect(page).to_have_url(re.compile(f"/console/inspections/{filed[1]['id']}"))
    assert answers == [True]
    page.keyboard.press("d")
    expect(page).to_have_url(re.compile(f"/console/inspections/{filed[2]['id']}"))
    ready(page)

    # r: back to the volunteer with what is missing.
    page.locator("#comment").fill("Қасбеттің фотосы керек.")
    page.locator("body").click()
    answers.append(True)
    page.keyboard.press("r")
    expect(page.locator("h1")).to_have_text("Қарау кезегі")
    expect(page.get_by_text("Мұнда қарайтын ештеңе жоқ")).to_be_visible()
    axe_check(page)
    statuses = [client.get(f"/api/v1/inspections/{i['id']}", headers=inspector.headers).get_json()["status"]
                for i in filed]
    assert statuses == ["confirmed", "dismissed", "returned"]
    assert answers == []
    assert request_log.foreign() == []


def test_an_inspector_approves_a_saving(page, client, admin, inspector, volunteer, axe_check):
    site = create_site(client, admin)
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "250000000.00",
        "category": "contract_reduced", "description": "Смета уменьшена после проверки."}).get_json()
    sign_in(page, inspector.login)
    page.get_by_role("link", name=re.compile("Экономия на проверку")).click()
    page.get_by_role("link", name=site["name"]).click()
    expect(page.get_by_text("250\u00a0000\u00a0000,00\u00a0₸")).to_be_visible()
    axe_check(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Одобрить").click()
    expect(page.get_by_role("status")).to_contain_text("Решение сохранено")
    assert client.get(f"/api/v1/savings/{saving['id']}", headers=inspector.headers).get_json()["status"] == "approved"


def test_an_admin_imports_a_csv_with_a_bad_row_then_a_good_one(page, client, admin, tmp_path, axe_check):
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
    expect(page.locator("tr.row-error")).to_contain_text("Это не казахстанский мобильный номер")
    axe_check(page)
    assert client.get("/api/v1/volunteers", headers=admin.headers).get_json()["items"] == []  # nothing created
    page.get_by_label("Файл CSV").set_input_files(str(good))
    page.get_by_role("button", name="Проверить файл").click()
    expect(page.get_by_role("status")).to_contain_text("Все 2 строки без ошибок")
    page.get_by_role("button", name=re.compile("Создать 2 волонтёров")).click()
    expect(page.locator("article.slip")).to_have_count(2)
    axe_check(page)
    assert len(client.get("/api/v1/volunteers", headers=admin.headers).get_json()["items"]) == 2
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("article.slip").first).to_be_visible()


def test_axe_finds_nothing_serious_on_any_screen(page, client, admin, inspector, volunteer, axe_check, run_jobs):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH, notes="Нет касок")
    attach_photo(client, volunteer, inspection["id"], shade=0)
    case = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    client.post(f"/api/v1/inspections/{case['id']}/review", headers=admin.headers,
                json={"decision": "confirmed", "comment": "Подтверждено."})
    saving = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "amount_kzt": "1000.00",
        "category": "other", "description": "Экономия."}).get_json()
    run_jobs()
    page.goto("/console/sign-in")
    axe_check(page)
    sign_in(page, admin.login)
    screens = ["/console/", "/console/?kind=savings", f"/console/inspections/{inspection['id']}",
               f"/console/inspections/{case['id']}", f"/console/savings/{saving['id']}", "/console/inbox",
               "/console/volunteers", "/console/volunteers/import", "/console/inspectors", "/console/sites",
               f"/console/sites/{site['id']}", "/console/totals", "/console/audit", "/console/jobs",
               "/console/password"]
    for screen in screens:
        page.goto(screen)
        expect(page.locator("h1")).to_be_visible()
        axe_check(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.goto("/console/volunteers")
    page.get_by_role("button", name=re.compile("Сбросить пароль")).first.click()
    expect(page.locator("article.slip")).to_have_count(1)
    axe_check(page)
    page.set_viewport_size({"width": 360, "height": 800})
    for screen in ("/console/", f"/console/inspections/{inspection['id']}", f"/console/inspections/{case['id']}",
                   "/console/totals"):
        page.goto(screen)
        axe_check(page)
    page.goto(f"/console/inspections/{inspection['id']}")
    ready(page)
    page.locator(".photo-open").first.click()
    assert page.evaluate(LOADED_WIDTH) == 1280
    axe_check(page)
