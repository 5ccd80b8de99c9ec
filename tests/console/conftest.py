"""Console tests through Flask's test client: signed-in browsers (cookie + CSRF token) per account."""
import re

import pytest

from tests.factories import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleBrowser:
    """A test client with the console's cookie, posting forms with the page's CSRF token as a browser does."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember_token(response)
        return response

    def post(self, url, data=None, **kwargs):
        if self.csrf is None:
            self.get("/console/sign-in")
        data = {"csrf_token": self.csrf, **(data or {})}
        response = self.client.post(url, data=data, **kwargs)
        self._remember_token(response)
        return response

    def htmx_post(self, url, data=None, **kwargs):
        """A POST as htmx sends it: the token in the X-CSRFToken header, not in the form."""
        if self.csrf is None:
            self.get("/console/sign-in")
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf, **kwargs.pop("headers", {})}
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)

    def _remember_token(self, response):
        if response.mimetype == "text/html":
            found = CSRF_INPUT.search(response.get_data(as_text=True))
            if found:
                self.csrf = found.group(1)

    def sign_in(self, login: str, password: str = PASSWORD):
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"login": login, "password": password})


@pytest.fixture
def console(app):
    """`console(account)` → a ConsoleBrowser signed in as that account (or anonymous with None)."""

    def make(account=None) -> ConsoleBrowser:
        browser = ConsoleBrowser(app.test_client())
        if account is not None:
            response = browser.sign_in(account.login, account.password)
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            browser.get("/console/")  # a new session has a new CSRF token, as the next page shows it
        return browser

    return make


def page_text(response) -> str:
    return response.get_data(as_text=True)
