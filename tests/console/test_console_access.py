"""Who may open which console page: every /console/ route, for anonymous, inspector and admin browsers.

The API's matrix (tests/test_authorization_matrix.py) covers token callers; pages take the cookie session.
"""
import re

from volunteer_api.auth.access import ACCESS_RULE, PUBLIC

HTTP_METHODS = {"GET", "POST"}


def console_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console/"):
            continue
        access = getattr(app.view_functions[rule.endpoint], ACCESS_RULE, None)
        for method in sorted((rule.methods or set()) & HTTP_METHODS):
            yield method, rule.rule, access


def url(rule: str) -> str:
    return re.sub(r"<[^>]+>", "1", rule)


def test_every_console_page_sends_an_anonymous_browser_to_sign_in(app, console):
    browser = console()
    for method, rule, access in console_routes(app):
        if method != "GET" or access == PUBLIC:
            continue
        response = browser.get(url(rule))
        assert response.status_code == 302 and "/console/sign-in" in response.headers["Location"], rule


def test_every_console_post_needs_the_csrf_token(app, console, admin):
    browser = console(admin)
    for method, rule, _ in console_routes(app):
        if method == "POST":
            assert browser.client.post(url(rule), data={}).status_code == 400, rule


def test_each_role_gets_the_pages_its_rule_names(app, console, inspector, admin):
    browsers = {"inspector": console(inspector), "admin": console(admin)}
    for method, rule, access in console_routes(app):
        if method != "GET" or access == PUBLIC:
            continue
        for role, browser in browsers.items():
            status = browser.get(url(rule)).status_code
            assert status < 500, (rule, role, status)
            assert (status == 403) == (role not in access), (rule, role, status)
