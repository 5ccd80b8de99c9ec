"""Browser tests: Playwright (pytest-playwright) driving Debian's Chromium against the app served live.

Fixtures (see /work/notes/browser-infra.md and the README):
- `live_server`: the test app (this backend's database; in the PostgreSQL pass with Redis and the real worker)
  served by a threaded WSGI server on a free loopback port for the whole session; its URL is `base_url`,
  so `page.goto("/console/")` works.
- `page`, `context`, `browser` come from pytest-playwright. Every context records the hosts it asks for
  (`request_log`) and refuses any request that is not to the live server's own origin, so a page that
  reaches out to a CDN or a tile server fails its test instead of leaving the machine.
- `axe_check(page)`: runs axe-core (the npm file, injected through the DevTools protocol, so the page's
  CSP needs no exception) and fails on serious or critical violations.
"""
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Chromium's own traffic (updates, sync, field trials) is cut off: the machine has no network, and a test
# must see only what the page asks for.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions",
                 "--disable-quic", "--metrics-recording-only", "--no-pings"]
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(app):
    """The app on a free 127.0.0.1 port, in a thread of the test process; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


class RequestLog:
    """Every URL a browser context asked for; `foreign()` lists those not to the page's own origin."""

    def __init__(self, origin: str):
        self.origin = origin
        self.urls: list[str] = []

    def record(self, url: str) -> None:
        self.urls.append(url)

    def is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or f"{parts.scheme}://{parts.netloc}" == self.origin

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.urls if urlsplit(url).netloc}

    def foreign(self) -> list[str]:
        return [url for url in self.urls if not self.is_own(url)]


@pytest.fixture
def request_log(live_server) -> RequestLog:
    return RequestLog(live_server)


@pytest.fixture
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server, "locale": "ru-RU", "timezone_id": "Asia/Almaty",
            "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def context(context, request_log):
    """pytest-playwright's context, recording every request and refusing any to another host."""
    context.set_default_timeout(10_000)

    def route(route_request):
        if request_log.is_own(route_request.request.url):
            route_request.continue_()
        else:
            route_request.abort("blockedbyclient")

    context.on("request", lambda req: request_log.record(req.url))
    context.route("**/*", route)
    yield context


@pytest.fixture
def axe_check():
    """`axe_check(page)` → the violations; fails the test on any serious or critical one."""
    source = AXE_SOURCE.read_text(encoding="utf-8")

    def check(page, *, context: str | None = None) -> list[dict]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(source)
        results = page.evaluate(
            "async (selector) => await window.axe.run(selector || document, {resultTypes: ['violations']})", context)
        violations = results["violations"]
        blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
        if blocking:
            summary = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                        "nodes": [n["target"] for n in v["nodes"][:5]]} for v in blocking]
            pytest.fail(f"axe: serious or critical violations on {page.url}:\n{json.dumps(summary, indent=1, ensure_ascii=False)}")
        return violations

    return check
