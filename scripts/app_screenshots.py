"""Refresh the volunteers' app screenshots in docs/screenshots/ (360 px wide, Russian and Kazakh).

Serves the app on a scratch SQLite database with a few sites of Taraz, signs a volunteer in with
Debian's Chromium (Playwright), and photographs the sites list, the inspection form and the outbox
with two inspections filed offline. Run after `scripts/bootstrap`:

    .venv/bin/python scripts/app_screenshots.py
"""
import io
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PHONE = "+77011234567"
PASSWORD = "correct horse battery"
SITES = [("Школа №45 на 1200 мест", "ул. Толе би, 12", 42.9001, 71.3667),
         ("Детский сад «Балдаурен»", "мкр. Астана, 7", 42.9102, 71.3841),
         ("Поликлиника №3", "ул. Жамбыла, 101", 42.8843, 71.4052)]
HERE = {"latitude": 42.9004, "longitude": 71.3671, "accuracy": 18}
VIEWPORT = {"width": 360, "height": 780}


def serve(scratch: Path) -> str:
    os.environ.update(APP_ENV="testing", DATABASE_URL=f"sqlite:///{scratch / 'app.db'}",
                      UPLOAD_DIR=str(scratch / "uploads"), RATELIMIT_ENABLED="false")
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from volunteer_api import create_app
    from volunteer_api.people.services import create_volunteer
    from volunteer_api.sites.services import create_site

    app = create_app({"ACCESS_LOG": False})
    with app.app_context():
        upgrade()
        create_volunteer(full_name="Айгерим Сапарова", phone=PHONE, email=None, district="taraz", password=PASSWORD)
        for name, address, lat, lon in SITES:
            create_site(name=name, kind="school", district="taraz", address=address, location={"lat": lat, "lon": lon},
                        budget_kzt=1_500_000_000_00, geofence_radius_m=300)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def shoot(base_url: str, language: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, device_scale_factor=2,
                                      locale={"ru": "ru-RU", "kk": "kk-KZ"}[language], geolocation=HERE,
                                      permissions=["geolocation"], timezone_id="Asia/Almaty")
        page = context.new_page()
        page.goto("/app/")
        page.select_option("#language", language)
        page.fill("#login", PHONE)
        page.fill("#password", PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_selector(".card .distance")
        page.evaluate("navigator.serviceWorker.ready")
        page.screenshot(path=OUT / f"app-{language}-sites.png")
        context.set_offline(True)
        for severity in ("high", "none"):
            page.locator("#nav a").first.click()  # back to the sites
            page.locator(".card .actions a.primary").first.click()
            page.check("#work_in_progress")
            page.check("#safety_violations")
            page.locator(f"label[for=severity-{severity}]").click()
            page.fill("#notes", {"ru": "Рабочие без касок на третьем этаже.", "kk": "Үшінші қабатта жұмысшылар каскасыз."}[language])
            page.set_input_files("#photos", files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
            page.wait_for_selector("#position-line:not(:empty)")
            expect(page.locator("#inspection-form button[type=submit]")).to_be_enabled()
            if severity == "high":
                page.locator("#notes").blur()
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=OUT / f"app-{language}-form.png")
                page.locator("#inspection-form button[type=submit]").scroll_into_view_if_needed()
                page.screenshot(path=OUT / f"app-{language}-form-end.png")
            page.locator("#inspection-form button[type=submit]").click()
            page.wait_for_selector("#outbox-list")
        expect(page.locator("#toast")).to_have_text("", timeout=10_000)  # the "saved" note fades
        page.screenshot(path=OUT / f"app-{language}-outbox.png")
        browser.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        base_url = serve(Path(scratch))
        for language in ("ru", "kk"):
            shoot(base_url, language)
    print(f"screenshots written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
