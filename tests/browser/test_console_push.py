"""The console's switch for alerts on this computer, in Chromium: reached from the inbox, accessible, and its
service worker (served under /console/push/) takes charge of the whole console. Subscribing itself needs the
browser vendor's push service, which no test machine reaches: the server side is tested in tests/console/."""
import re

from playwright.sync_api import expect

from tests.browser.test_console_sign_in import sign_in


def test_the_alerts_switch_registers_the_consoles_service_worker_and_says_what_happened(
        context, page, inspector, axe_check, request_log):
    context.grant_permissions(["notifications"])
    sign_in(page, inspector.login)
    page.goto("/console/inbox")
    page.get_by_role("link", name="Оповещения на этом компьютере").click()
    expect(page.locator("h1")).to_have_text("Оповещения на этом компьютере")
    axe_check(page)
    toggle = page.get_by_role("button", name="Включить оповещения на этом компьютере")
    toggle.click()
    # No push service answers a test machine: the page says so in its language, and stays usable.
    expect(page.locator("#push-status")).to_have_text(re.compile("не может получать push-оповещения"), timeout=15_000)
    expect(toggle).to_be_enabled()
    assert page.evaluate("""async () => (await navigator.serviceWorker.getRegistration("/console/"))?.scope""") \
        .endswith("/console/")
    assert any(url.endswith("/console/push/sw.js") for url in request_log.urls)
    assert request_log.foreign() == []
