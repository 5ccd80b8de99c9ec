"""Refresh the console's screenshots in docs/screenshots/ (phone 360 px and desktop 1280 px, ru and kk).

Builds a throw-away embedded app (an SQLite file in a temporary folder) with demo data made through the
API, serves it on a free loopback port and photographs the main screens with Debian's Chromium:
the queue (full and empty), an inspection with its photos (and one open in the lightbox), the CSV import
preview and the totals; and the public /transparency page (no sign-in).

    .venv/bin/python scripts/screenshots.py [--only transparency]
"""
import io
import os
import sys
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PASSWORD = "screenshots password 1"
WIDTHS = {"phone": 360, "desktop": 1280}
LANGUAGES = ("ru", "kk")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def build_app(folder: Path):
    os.environ.update({"APP_ENV": "testing", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
                       "UPLOAD_DIR": str(folder / "uploads"), "RATELIMIT_ENABLED": "false"})
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from volunteer_api import create_app

    app = create_app({"ACCESS_LOG": False})
    with app.app_context():
        upgrade()
    return app


def seed(app) -> dict:
    """Demo data through the API, as the phones and the admins make it."""
    from PIL import Image

    from volunteer_api.people.services import create_admin, create_inspector
    from volunteer_api.timestamps import format_utc, utcnow

    with app.app_context():
        create_admin(login="admin@example.kz", password=PASSWORD, full_name="Әкімші Админов")
        create_inspector(full_name="Гульнара Ахметова-Сейткалиева", phone=None, email="inspector@example.kz",
                         districts=["taraz", "merke", "shu"], password=PASSWORD)
    client = app.test_client()

    def token(login):
        answer = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD}).get_json()
        return {"Authorization": f"Bearer {answer['access_token']}"}

    admin = token("admin@example.kz")
    names = ["Средняя общеобразовательная школа № 47 имени Абая Кунанбаева на 1200 ученических мест",
             "Детский сад «Балапан» на 320 мест", "Көпбейінді аурухана, Мерке ауданы", "Дорога Тараз — Шу, участок 12 км"]
    sites = []
    for index, name in enumerate(names):
        body = {"name": name, "kind": ["school", "kindergarten", "hospital", "road"][index],
                "district": ["taraz", "taraz", "merke", "shu"][index], "address": "ул. Толе би, 1",
                "location": {"lat": 42.9 + index * 0.05, "lon": 71.36 + index * 0.2},
                "budget_kzt": ["12500000000.00", "1850000000.50", "4200000000.00", "980000000.00"][index],
                "contractor": "ТОО «Құрылыс-Инвест Тараз»", "contract_number": f"{40 + index}-2026"}
        sites.append(client.post("/api/v1/sites", headers=admin, json=body).get_json())
    volunteers = []
    for index, (name, district) in enumerate([("Айгерим Нурсултанқызы Сапарова-Жумабекова", "taraz"),
                                              ("Болат Ким", "merke"), ("Ерлан Тлеубаев", "shu")]):
        phone = f"+7701555{index:04d}"
        client.post("/api/v1/volunteers", headers=admin,
                    json={"full_name": name, "phone": phone, "district": district, "password": PASSWORD})
        volunteers.append(token(phone))
    inspections = []
    for index, site in enumerate(sites):
        volunteer = volunteers[min(index, 2)] if index != 1 else volunteers[0]
        captured = format_utc(utcnow() - timedelta(hours=3 + index * 20))
        body = {"client_uuid": str(uuid.uuid4()), "site_id": site["id"], "captured_at": captured,
                "location": {"lat": site["location"]["lat"] + 0.01 * (index % 2 + 1), "lon": site["location"]["lon"],
                             "accuracy_m": 15 + index * 10, "mock": index == 2},
                "checklist": {"work_in_progress": True, "workers_present": index != 3, "safety_violations": index == 0,
                              "quality_issues": index in (0, 2), "schedule_delay": True, "docs_on_site": False,
                              "progress_percent": 35 + index * 10},
                "severity": ["high", "critical", "medium", "low"][index],
                "notes": "Рабочие без касок, арматура под дождём, трещины в фундаменте восточного крыла."}
        answer = client.post("/api/v1/inspections", headers=volunteer, json=body).get_json()
        inspections.append(answer)
        for shade in range(3 if index == 0 else 0):
            buffer = io.BytesIO()
            picture = Image.new("RGB", (1600, 1200), (120 + 60 * shade, 110, 90))
            draw_scene(picture, shade)
            picture.save(
                buffer, "JPEG", exif=camera_exif(shade, site["location"], captured))
            client.post(f"/api/v1/inspections/{answer['id']}/photos", headers=volunteer,
                        data={"file": (io.BytesIO(buffer.getvalue()), "photo.jpg")}, content_type="multipart/form-data")
    for index, amount in enumerate(["250000000.00", "1250000.50", "78400000.00"]):
        saving = client.post("/api/v1/savings", headers=volunteers[index], json={
            "client_uuid": str(uuid.uuid4()), "site_id": sites[index]["id"], "amount_kzt": amount,
            "category": "overpricing_prevented", "description": "Завышенная цена бетона М300 в смете."}).get_json()
        if index == 0:
            client.post(f"/api/v1/savings/{saving['id']}/review", headers=admin,
                        json={"decision": "approved", "comment": "Проверено по смете."})
    with app.app_context():
        from volunteer_api.savings.totals import recompute_totals

        recompute_totals()
    app.extensions["job_dispatcher"].wait_idle(30)
    return {"inspection": inspections[0]["id"], "inspections": [item["id"] for item in inspections]}


def decide_cases(app, inspection_ids: list[str]) -> None:
    """Two violations confirmed, one of them fixed (after the console's screens: they show the queue undecided)."""
    from volunteer_api.cases.outcomes import recompute_outcomes
    from volunteer_api.database import db
    from volunteer_api.timestamps import format_utc, utcnow

    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"login": "admin@example.kz", "password": PASSWORD}).get_json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    for inspection_id in (inspection_ids[0], inspection_ids[3]):
        client.post(f"/api/v1/inspections/{inspection_id}/review", headers=admin,
                    json={"decision": "confirmed", "comment": "Нарушение подтверждено."})
    client.post(f"/api/v1/inspections/{inspection_ids[0]}/resolution", headers=admin,
                json={"outcome": "fixed", "comment": "Подрядчик устранил.", "resolved_at": format_utc(utcnow())})
    app.extensions["job_dispatcher"].wait_idle(30)
    with app.app_context():
        recompute_outcomes()
        db.session.commit()


def draw_scene(picture, shade: int) -> None:
    """Something to look at in a demo photo: a building's frame, scaffolding and the sky."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, 1600, 520), fill=(150, 190, 225))
    draw.rectangle((300 + 80 * shade, 300, 1300, 1100), fill=(170, 160, 150), outline=(60, 60, 60), width=12)
    for x in range(340 + 80 * shade, 1300, 160):
        draw.line((x, 300, x, 1100), fill=(90, 80, 70), width=10)
    for y in range(380, 1100, 140):
        draw.line((300 + 80 * shade, y, 1300, y), fill=(90, 80, 70), width=8)
    draw.rectangle((0, 1100, 1600, 1200), fill=(110, 95, 70))


def camera_exif(shade: int, site_location: dict, captured: str):
    """What a phone camera writes: the first photo at the site at the reported time, the second 300 m
    off, the third without a position and taken three days earlier (a photo from the gallery)."""
    from datetime import datetime

    from PIL import ExifTags, Image, TiffImagePlugin

    exif = Image.Exif()
    taken = datetime.fromisoformat(captured.replace("Z", "+00:00")) + timedelta(hours=5)
    if shade == 2:
        taken -= timedelta(days=3)
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    details[ExifTags.Base.OffsetTimeOriginal] = "+05:00"
    if shade < 2:
        def dms(value: float):
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
            return tuple(TiffImagePlugin.IFDRational(part) for part in (degrees, minutes, seconds))

        exif.get_ifd(ExifTags.IFD.GPSInfo).update({
            ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: dms(site_location["lat"] + 0.0027 * shade),
            ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: dms(site_location["lon"])})
    return exif


def main() -> int:
    import argparse

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("console", "transparency"), help="only these screens")
    only = parser.parse_args().only
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        app = build_app(folder)
        ids = seed(app)
        csv_file = folder / "volunteers.csv"
        csv_file.write_text("full_name,phone,email,district\nАйгерим Сапарова,+77019990001,,taraz\n"
                            "Болат Ким,8 701 999 00 02,bolat@example.kz,merke\nНурлан Абенов,12345,,taraz\n"
                            "Динара Омарова,+77019990001,,nowhere\n", encoding="utf-8")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def contexts():
                for language in LANGUAGES:
                    for size, width in WIDTHS.items():
                        context = browser.new_context(viewport={"width": width, "height": 900}, locale="ru-RU",
                                                      timezone_id="Asia/Almaty", device_scale_factor=1)
                        yield language, size, context.new_page()
                        context.close()

            if only != "transparency":
                for language, size, page in contexts():
                    sign_in(page, base, "admin@example.kz", language)
                    shoot(page, f"{base}/console/", f"queue-{language}-{size}")
                    shoot(page, f"{base}/console/inspections/{ids['inspection']}", f"inspection-{language}-{size}")
                    page.locator(".photo-open").first.click()
                    page.wait_for_selector("#lightbox[open]")
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / f"inspection-lightbox-{language}-{size}.png"))
                    page.keyboard.press("Escape")
                    page.goto(f"{base}/console/volunteers/import")
                    page.locator("#file").set_input_files(str(csv_file))
                    page.locator("form[enctype] button[type=submit]").click()
                    page.wait_for_selector("#h-preview")
                    save(page, f"import-preview-{language}-{size}")
                    shoot(page, f"{base}/console/totals", f"totals-{language}-{size}")
                    shoot(page, f"{base}/console/?district=zhualy", f"queue-empty-{language}-{size}")
            if only != "console":
                decide_cases(app, ids["inspections"])
                for language, size, page in contexts():
                    page.goto(f"{base}/transparency?lang={language}")  # public: no sign-in
                    save(page, f"transparency-{language}-{size}")
            browser.close()
        server.shutdown()
    print(f"screenshots written to {OUT.relative_to(ROOT)}")
    return 0


def sign_in(page, base: str, login: str, language: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.locator(f"button[name=language][value={language}]").click()
    page.locator("#login").fill(login)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_selector("html[data-ready]", state="attached")


def shoot(page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready]", state="attached")
    save(page, name)


WIDER_THAN_THE_SCREEN = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) { return []; }
    return Array.from(document.querySelectorAll("body *"))
        .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest(".table-wrap, .leaflet-container"))
        .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ")[0] : ""));
}"""


def save(page, name: str) -> None:
    # Down the page and back, as a reader scrolls: lazy images (the photos' previews) load.
    page.evaluate("async () => { window.scrollTo(0, document.body.scrollHeight);"
                  " await new Promise((done) => setTimeout(done, 300)); window.scrollTo(0, 0); }")
    page.wait_for_load_state("networkidle")
    wider = page.evaluate(WIDER_THAN_THE_SCREEN)
    if wider:  # a phone would scroll sideways: say which elements stick out
        print(f"{name}: wider than the screen: {wider}")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


if __name__ == "__main__":
    sys.exit(main())
