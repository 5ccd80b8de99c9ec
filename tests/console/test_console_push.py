"""Alerts on the console's computer: a browser's Web Push subscription registered through the console's cookie
session (CSRF token in the header, as the page's script sends it), reached by a flagged inspection, removed."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.alert_helpers import flag_inspection, make_site, make_user
from tests.console.conftest import page_text
from tests.support import Account
from tests.test_devices import GOOGLE_ENDPOINT, Browser, push_service  # noqa: F401 - a fixture
from volunteer_api.devices.models import Device
from volunteer_api.extensions import db
from volunteer_api.people.models import User

REGISTER = "/console/push/devices"


def devices_of(app, user_id) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(Device.id, Device.push).where(Device.user_id == int(user_id))).all()
        db.session.rollback()
    return [(str(device_id), push["endpoint"]) for device_id, push in rows]


def json_post(browser, url, body=None, *, csrf=True):
    headers = {"X-CSRFToken": browser.csrf} if csrf else {}
    return browser.client.post(url, json=body, headers=headers)


@pytest.fixture
def kazakh_inspector(app) -> Account:
    with app.app_context():
        user = db.session.get(User, make_user("inspector", language="kk"))
        return Account(id=str(user.id), role="inspector", login=user.email, password="correct horse battery",
                       headers={}, refresh_token="")


def test_an_inspectors_browser_subscribes_through_the_console_and_a_flagged_inspection_reaches_it(
        app, console, kazakh_inspector, push_service, run_jobs):  # noqa: F811
    service, base = push_service
    browser = console(kazakh_inspector)
    page = browser.get("/console/push/")
    assert page.status_code == 200 and 'id="push-panel"' in page_text(page)
    worker = browser.get("/console/push/sw.js")
    assert worker.mimetype == "text/javascript" and worker.headers["Service-Worker-Allowed"] == "/console/"

    subscription = Browser(f"{base}/push/console-1")
    registered = json_post(browser, REGISTER, subscription.subscription)
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["platform"] == "web"
    again = json_post(browser, REGISTER, subscription.subscription)  # the page asked twice: one device
    assert again.status_code == 201 and again.get_json()["id"] == registered.get_json()["id"]
    assert devices_of(app, kazakh_inspector.id) == [(registered.get_json()["id"], f"{base}/push/console-1")]

    with app.app_context():
        flag_inspection(volunteer_id=make_user("volunteer"), site_id=make_site())
    run_jobs(lambda: service.received, timeout=15)
    (path, _headers, body), = service.received
    payload = subscription.decrypt(body)
    assert path == "/push/console-1" and payload["url"] == "/console/"
    assert payload["title"].startswith("Белгіленген тексеру")

    removed = json_post(browser, f"{REGISTER}/{registered.get_json()['id']}/remove")
    assert removed.status_code == 204
    assert devices_of(app, kazakh_inspector.id) == []


def test_a_registration_without_the_csrf_token_or_a_session_or_a_valid_subscription_registers_nothing(
        app, console, inspector, make_inspector):
    browser = console(inspector)
    subscription = Browser(GOOGLE_ENDPOINT).subscription
    forged = json_post(browser, REGISTER, subscription, csrf=False)
    assert forged.status_code == 400 and forged.mimetype == "application/problem+json"

    broken = json_post(browser, REGISTER, {**subscription, "keys": {"p256dh": "AAAA", "auth": "x"}})
    assert broken.status_code == 422 and {"keys.p256dh", "keys.auth"} <= set(broken.get_json()["errors"])
    assert json_post(browser, REGISTER, None).status_code == 422
    elsewhere = json_post(browser, REGISTER, {**subscription, "endpoint": "https://attacker.example/push"})
    assert elsewhere.status_code == 422 and "endpoint" in elsewhere.get_json()["errors"]
    assert devices_of(app, inspector.id) == []

    anonymous = console()
    anonymous.get("/console/sign-in")
    signed_out = json_post(anonymous, REGISTER, subscription)
    assert signed_out.status_code == 302 and "/console/sign-in" in signed_out.headers["Location"]

    colleague_account = make_inspector()
    colleague = console(colleague_account)
    theirs = json_post(colleague, REGISTER, Browser("https://fcm.googleapis.com/fcm/send/colleague").subscription)
    assert theirs.status_code == 201
    refused = json_post(browser, f"{REGISTER}/{theirs.get_json()['id']}/remove")
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert [device_id for device_id, _ in devices_of(app, colleague_account.id)] == [theirs.get_json()["id"]]


# The service worker's click handler run in Node, with the worker's `self` made of plain objects: which page
# a click on an alert opens for the URL the alert carries.
CLICK_HARNESS = r"""
const fs = require("fs");
const handlers = {}, opened = [];
globalThis.self = {
  location: new URL("https://monitor.example/console/push/sw.js"),
  addEventListener: (name, handler) => { handlers[name] = handler; },
  clients: { matchAll: async () => [], openWindow: async (url) => { opened.push(url); }, claim: async () => {} },
  registration: {},
};
eval(fs.readFileSync(process.argv[2], "utf8"));
(async () => {
  for (const url of JSON.parse(process.argv[3])) {
    let pending;
    handlers.notificationclick({ notification: { data: { url }, close() {} }, waitUntil: (p) => { pending = p; } });
    await pending;
  }
  console.log(JSON.stringify(opened));
})();
"""


def test_a_click_on_an_alert_opens_only_the_consoles_own_pages(tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is installed by scripts/bootstrap's npm"
    worker = Path(__file__).parents[2] / "volunteer_api/static/console/push-sw.js"
    harness = tmp_path / "click.js"
    harness.write_text(CLICK_HARNESS)
    urls = ["/console/inspections/7", "https://evil.example/console/inspections/7", "//evil.example/console/",
            "/api/v1/me", "javascript:alert(1)", None]
    result = subprocess.run([node, str(harness), str(worker), json.dumps(urls)], capture_output=True, text=True,
                            timeout=30, check=True)
    assert json.loads(result.stdout) == ["https://monitor.example/console/inspections/7"] + \
        ["https://monitor.example/console/"] * 5
