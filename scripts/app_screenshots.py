"""Refresh the volunteers' app screenshots in docs/screenshots/ (360 px wide, Russian and Kazakh).

Serves the app on a scratch SQLite database with a few sites of Taraz, signs a volunteer in with
Debian's Chromium (Playwright), and photographs the sites list, the inspection form, the outbox with two
inspections filed offline, then (back online, one of them returned by an inspector) my reports and the returned
inspection with the inspector's comment, the first-use password change with the server's message, the position warnings (far from the site, a poor fix) and the savings form. Run after `scripts/bootstrap`:

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
# A volunteer per language: each run's reports (and the inspection returned to it) are its own.
PHONES = {"ru": "+77011234567", "kk": "+77011234568"}
FIRST_USE_PHONES = {"ru": "+77011234577", "kk": "+77011234578"}
GENERATED: dict[str, str] = {}
PASSWORD = "correct horse battery"
SITES = [("Школа №45 на 1200 мест", "ул. Толе би, 12", 42.9001, 71.3667),
         ("Детский сад «Балдаурен»", "мкр. Астана, 7", 42.9102, 71.3841),
         ("Поликлиника №3", "ул. Жамбыла, 101", 42.8843, 71.4052)]
HERE = {"latitude": 42.9004, "longitude": 71.3671, "accuracy": 18}
FAR_AND_VAGUE = {"latitude": 42.9310, "longitude": 71.3500, "accuracy": 350}
VIEWPORT = {"width": 360, "height": 780}
INSPECTOR = "inspector@example.kz"
RETURN_COMMENT = {"ru": "Нет фото фасада и таблички объекта: сфотографируйте вход.",
                  "kk": "Қасбет пен нысан тақтайшасының суреті жоқ: кіреберісті суретке түсіріңіз."}


def serve(scratch: Path):
    """The app on a scratch database and a free loopback port: (the app, its base URL)."""
    os.environ.update(APP_ENV="testing", DATABASE_URL=f"sqlite:///{scratch / 'app.db'}",
                      UPLOAD_DIR=str(scratch / "uploads"), RATELIMIT_ENABLED="false")
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from volunteer_api import create_app

    app = create_app({"ACCESS_LOG": False})
    # After the factory, which imports every model: the services name relationships at import time.
    from volunteer_api.people.services import create_inspector, create_volunteer
    from volunteer_api.sites.services import create_site

    with app.app_context():
        upgrade()
        for phone in PHONES.values():
            create_volunteer(full_name="Айгерим Сапарова", phone=phone, email=None, district="taraz", password=PASSWORD)
        for language, phone in FIRST_USE_PHONES.items():  # an administrator's generated password, never changed
            GENERATED[language] = create_volunteer(full_name="Данияр Омаров", phone=phone, email=None, district="taraz",
                                                   password=None)[1]
        create_inspector(full_name="Ержан Алиев", phone=None, email=INSPECTOR, districts=["taraz"], password=PASSWORD)
        for name, address, lat, lon in SITES:
            create_site(name=name, kind="school", district="taraz", address=address, location={"lat": lat, "lon": lon},
                        budget_kzt=1_500_000_000_00, geofence_radius_m=300)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, f"http://127.0.0.1:{server.server_port}"


def photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def return_newest_inspection(app, language: str) -> None:
    """The inspector sends the newest submitted inspection back with a comment (the services, as the console does)."""
    from sqlalchemy import select

    from volunteer_api.extensions import db
    from volunteer_api.inspections.models import Inspection
    from volunteer_api.inspections.services import return_inspection
    from volunteer_api.people.models import User

    with app.app_context():
        inspector = db.session.scalars(select(User).where(User.email == INSPECTOR)).one()
        newest = db.session.scalars(select(Inspection).where(Inspection.status == "submitted")
                                    .order_by(Inspection.id.desc()).limit(1)).one()
        return_inspection(newest.id, reviewer=inspector, comment=RETURN_COMMENT[language])


def shoot(app, base_url: str, language: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, device_scale_factor=2,
                                      locale={"ru": "ru-RU", "kk": "kk-KZ"}[language], geolocation=HERE,
                                      permissions=["geolocation"], timezone_id="Asia/Almaty")
        page = context.new_page()
        # First use: the generated password is changed, and the server's 422 is shown beside the field.
        page.goto("/app/")
        page.select_option("#language", language)
        page.fill("#login", FIRST_USE_PHONES[language])
        page.fill("#password", GENERATED[language])
        page.locator("form button[type=submit]").click()
        page.fill("#current_password", GENERATED[language])
        page.fill("#new_password", "qwertyuiop")
        page.locator("#password-form button[type=submit]").click()
        expect(page.locator("#new_password-error")).to_be_visible()
        page.screenshot(path=OUT / f"app-{language}-password.png")
        page.evaluate("indexedDB.deleteDatabase('volunteer-app')")
        page.close()

        page = context.new_page()
        page.goto("/app/")
        page.select_option("#language", language)
        page.fill("#login", PHONES[language])
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

        context.set_offline(False)
        expect(page.locator("#outbox-list li[data-state=waiting]")).to_have_count(0, timeout=20_000)
        return_newest_inspection(app, language)
        page.locator("#nav a[href='#/mine']").click()
        expect(page.locator("#mine-list li[data-state=returned]")).to_have_count(1, timeout=20_000)
        page.screenshot(path=OUT / f"app-{language}-mine.png")
        page.locator("#mine-list li[data-state=returned] a.primary").click()
        page.set_input_files("#photos", files=[{"name": "entrance.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
        page.fill("#reply", {"ru": "Добавила фото входа.", "kk": "Кіреберістің суретін қостым."}[language])
        page.locator("#reply").blur()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=OUT / f"app-{language}-returned.png")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.screenshot(path=OUT / f"app-{language}-returned-end.png")

        # Far from the site with a poor fix: the form says so before anything is sent.
        context.set_geolocation(FAR_AND_VAGUE)
        page.locator("#nav a[href='#/sites']").click()
        page.locator(".card .actions a.primary").first.click()
        expect(page.locator("#position-warnings .alert")).to_have_count(2)
        page.locator("#inspection-form button[type=submit]").scroll_into_view_if_needed()
        page.screenshot(path=OUT / f"app-{language}-warnings.png")
        context.set_geolocation(HERE)

        page.locator("#nav a[href='#/sites']").click()
        page.locator(".card .actions a:not(.primary)").first.click()
        page.fill("#amount", "12 500 000")
        page.select_option("#category", "contract_reduced")
        page.fill("#description", {"ru": "Смета снижена после пересчёта объёмов кровли.",
                                   "kk": "Шатыр көлемдері қайта есептелген соң смета азайтылды."}[language])
        page.screenshot(path=OUT / f"app-{language}-saving.png")
        browser.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        app, base_url = serve(Path(scratch))
        for language in ("ru", "kk"):
            shoot(app, base_url, language)
    print(f"screenshots written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
