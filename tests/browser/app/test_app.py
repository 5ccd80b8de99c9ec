"""The volunteers' app in Debian's Chromium: installable, opens offline, files inspections and photos offline
and sends each exactly once when the network returns (also after the page was closed).

The review loop, savings, the position warnings and photo shrinking: test_app_reports.py; the account (first-use
password change, token refresh, a lost session): test_app_account.py."""
import io
import re

from PIL import Image
from playwright.sync_api import expect

from tests.browser.app.support import (
    SEND_TIMEOUT_MS,
    file_inspection,
    server_counts,
    sign_in,
)
from tests.field_support import create_site


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

