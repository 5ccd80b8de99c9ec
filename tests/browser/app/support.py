"""What the volunteers' app tests do again and again: sign in, file an inspection, count what the server has."""
import io

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.factories import PASSWORD
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection, Photo

# 40 m from the site create_site makes (tests/field_support.py: 42.9001, 71.3667).
NEAR_SITE = {"latitude": 42.90046, "longitude": 71.36685, "accuracy": 12}
SEND_TIMEOUT_MS = 20_000


def jpeg(color=(200, 30, 30), size=(320, 240)) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def wait_for_the_service_worker(page) -> None:
    # The shell is cached once the worker is active and controls the page.
    # (evaluate, not wait_for_function: polling a string is eval, which the page's CSP refuses)
    page.evaluate("""async () => {
        if (!navigator.serviceWorker.controller) {
            await new Promise((done) => navigator.serviceWorker.addEventListener("controllerchange", done, { once: true }));
        }
    }""")


def sign_in(page, volunteer, *, password: str = PASSWORD, expect_sites: bool = True) -> None:
    page.goto("/app/")
    page.fill("#login", volunteer.login)
    page.fill("#password", password)
    page.locator("form button[type=submit]").click()
    if expect_sites:
        expect(page.locator(".card h2").first).to_be_visible()
        wait_for_the_service_worker(page)


def open_tab(page, route: str) -> None:
    page.locator(f"#nav a[href='#/{route}']").click()


def file_inspection(page, *, color=(200, 30, 30), severity="none", photo=None, resize=False) -> None:
    open_tab(page, "sites")
    page.locator(".card .actions a.primary").first.click()
    page.check("#work_in_progress")
    page.locator(f"label[for=severity-{severity}]").click()
    page.set_input_files("#photos", files=[photo or jpeg(color)])
    if resize:
        page.check("#resize")
    submit = page.locator("#inspection-form button[type=submit]")
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.locator("#outbox-list")).to_be_visible()


def server_counts(app, volunteer) -> tuple[int, int]:
    """(inspections, photos) the server holds for the volunteer."""
    with app.app_context():
        inspections = db.session.scalar(select(func.count()).select_from(Inspection)
                                        .where(Inspection.volunteer_id == int(volunteer.id)))
        photos = db.session.scalar(select(func.count()).select_from(Photo).join(Inspection)
                                   .where(Inspection.volunteer_id == int(volunteer.id)))
        db.session.rollback()
    return inspections, photos
