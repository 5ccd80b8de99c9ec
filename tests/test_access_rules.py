"""Every endpoint declares who may call it; an undeclared one fails the suite."""
import re

from volunteer_api.auth.access import ACCESS_RULE, PUBLIC, SESSION_TOKEN

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Served by flask-smorest itself: the OpenAPI document and the docs page are public by the contract.
LIBRARY_ENDPOINTS = {"api-docs.openapi_json", "api-docs.openapi_swagger_ui"}
PUBLIC_PATHS = {"/", "/api/v1/", "/healthz", "/readyz", "/api/v1/auth/login", "/api/v1/districts",
                "/api/v1/docs/assets/<path:filename>", "/static/<path:filename>", "/console/sign-in", "/console/language",
                "/api/v1/client-config", "/app/", "/app/sw.js", "/app/<path:asset>",
                # The console's push service worker: code only, re-fetched by the browser signed in or not.
                "/console/push/sw.js",
                # Open data for the public: no personal data (tests/test_open_data.py).
                "/api/v1/open-data/oc4ids.json", "/api/v1/public/summary", "/transparency",
                # Not to JWTs: the scraper's own METRICS_TOKEN, checked by the view (tests/test_metrics.py).
                "/metrics"}
# Console pages send a browser without a session to the sign-in page (tests/console/test_console_access.py).
PAGE_PREFIX = "/console/"


def declared_rules(app):
    """(rule, method, access rule) for every route of the app."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in LIBRARY_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) & HTTP_METHODS):
            handler = getattr(view_class, method.lower(), None) if view_class else view
            yield rule.rule, method, getattr(handler, ACCESS_RULE, None)


def test_every_endpoint_declares_an_access_rule(app):
    undeclared = [(path, method) for path, method, access in declared_rules(app) if access is None]
    assert undeclared == []


def test_only_the_expected_endpoints_are_public(app):
    public = {path for path, _, access in declared_rules(app) if access == PUBLIC}
    assert public == PUBLIC_PATHS


def test_role_rules_name_only_known_roles(app):
    for path, method, access in declared_rules(app):
        if access not in (PUBLIC, SESSION_TOKEN):
            assert access and set(access) <= {"admin", "inspector", "volunteer"}, (path, method, access)


def test_every_guarded_endpoint_answers_401_without_a_token(app, client):
    for path, method, access in declared_rules(app):
        if access == PUBLIC or path.startswith(PAGE_PREFIX):
            continue
        url = re.sub(r"<[^>]+>", "1", path)
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.content_type == "application/problem+json"
