"""The volunteers' app in Debian's Chromium: installable, opens offline, files inspections and photos offline
and sends each exactly once when the network returns (also after the page was closed), resubmits a returned one."""
import io
import json
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.factories import PASSWORD
from tests.field_support import create_site
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection, Photo

# 40 m from the site create_site makes (tests/field_support.py: 42.9001, 71.3667).
NEAR_SITE = {"latitude": 42.90046, "longitude": 71.36685, "accuracy": 12}
SEND_TIMEOUT_MS = 20_000


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 360, "height": 780}, "geolocation": NEAR_SITE,
            "permissions": ["geolocation"]}


def jpeg(color=(200, 30, 30)) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(buffer, "JPEG")
    return {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def sign_in(page, volunteer) -> None:
    page.goto("/app/")
    page.fill("#login", volunteer.login)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".card h2").first).to_be_visible()
    # The shell is cached once the worker is active and controls the page.
    # (evaluate, not wait_for_function: polling a string is eval, which the page's CSP refuses)
    page.evaluate("""async () => {
        if (!navigator.serviceWorker.controller) {
            await new Promise((done) => navigator.serviceWorker.addEventListener("controllerchange", done, { once: true }));
        }
    }""")


def file_inspection(page, *, color=(200, 30, 30), severity="none") -> None:
    page.locator("#nav a").first.click()  # the sites
    page.locator(".card .actions a.primary").first.click()
    page.check("#work_in_progress")
    page.locator(f"label[for=severity-{severity}]").click()
    page.set_input_files("#photos", files=[jpeg(color)])
    submit = page.locator("#inspection-form button[type=submit]")
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.locator("#outbox-list")).to_be_visible()


def server_counts(app, volunteer) -> tuple[int, int]:
    with app.app_context():
        inspections = db.session.scalar(select(func.count()).select_from(Inspection)
                                        .where(Inspection.volunteer_id == int(volunteer.id)))
        photos = db.session.scalar(select(func.count()).select_from(Photo).join(Inspection)
                                   .where(Inspection.volunteer_id == int(volunteer.id)))
        db.session.rollback()
    return inspections, photos


def test_an_inspection_filed_offline_with_a_photo_is_sent_once_when_the_network_returns(
        app, client, admin, volunteer, context, page, axe_check, request_log):
    site = create_site(client, admin)
    sign_in(page, volunteer)
    axe_check(page)
    context.set_offline(True)
    page.reload()  # the shell comes from the service worker's cache
    expect(page.locator(".card h2").first).to_have_text(site["name"])
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator(".distance").first).to_contain_text("м от вас")
    file_inspection(page)
    axe_check(page)
    expect(page.locator("#outbox-list li")).to_have_attribute("data-state", "waiting")
    assert server_counts(app, volunteer) == (0, 0)

    context.set_offline(False)
    expect(page.locator("#outbox-list li")).to_have_attribute("data-state", re.compile("sent|submitted"),
                                                              timeout=SEND_TIMEOUT_MS)
    expect(page.locator("#outbox-list li")).to_contain_text("1")
    assert server_counts(app, volunteer) == (1, 1)
    assert request_log.foreign() == []


def test_three_inspections_filed_offline_arrive_exactly_once_after_the_app_was_closed_and_reopened(
        app, client, admin, volunteer, context, page):
    create_site(client, admin)
    sign_in(page, volunteer)
    context.set_offline(True)
    for color in ((200, 30, 30), (30, 200, 30), (30, 30, 200)):
        file_inspection(page, color=color)
    expect(page.locator("#outbox-list li[data-state=waiting]")).to_have_count(3)
    page.close()

    reopened = context.new_page()  # still offline: the app opens from the cache, the outbox from IndexedDB
    reopened.goto("/app/#/outbox")
    expect(reopened.locator("#outbox-list li[data-state=waiting]")).to_have_count(3)
    assert server_counts(app, volunteer) == (0, 0)
    context.set_offline(False)
    expect(reopened.locator("#outbox-list li[data-state=waiting]")).to_have_count(0, timeout=SEND_TIMEOUT_MS)
    assert server_counts(app, volunteer) == (3, 3)
    # A later open sends nothing again.
    reopened.reload()
    expect(reopened.locator("#outbox-list li")).to_have_count(3)
    assert server_counts(app, volunteer) == (3, 3)


def test_the_manifest_has_what_browsers_require_to_install_the_app(page, live_server):
    page.goto("/app/")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] and manifest["short_name"]
    assert manifest["display"] in ("standalone", "fullscreen", "minimal-ui")
    assert manifest["start_url"].startswith(manifest["scope"]) and manifest["scope"] == "/app/"
    sizes = {}
    for icon in manifest["icons"]:
        fetched = page.request.get(icon["src"])
        assert fetched.ok, icon["src"]
        if icon["type"] == "image/png":
            with Image.open(io.BytesIO(fetched.body())) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"], icon["src"]
                sizes[icon["sizes"]] = icon.get("purpose", "any")
    assert {"192x192", "512x512"} <= set(sizes)
    # Chromium's own check: the worker that controls the start URL is installed.
    assert page.evaluate("""async () => {
        const worker = (await navigator.serviceWorker.ready).active;
        if (worker.state !== "activated") {
            await new Promise((done) => worker.addEventListener("statechange", () => worker.state === "activated" && done()));
        }
        return worker.state;
    }""") == "activated"

