"""The console's cookie session: the same logins, limits and revocation as the API's tokens, CSRF on every
post, a strict CSP, and an API that stays cookie-free."""
import pytest

from tests.console.conftest import page_text


def test_a_page_without_a_session_sends_the_browser_to_sign_in(console):
    response = console().get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/sign-in?next=/console/")


def test_signing_in_sets_a_console_only_httponly_lax_cookie(console, inspector):
    browser = console()
    browser.get("/console/sign-in")
    response = browser.post("/console/sign-in", {"login": inspector.login, "password": inspector.password})
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/console/" in cookie
    assert browser.get("/console/").status_code == 200


def test_the_api_sets_no_cookie_and_ignores_the_console_cookie(console, inspector):
    browser = console(inspector)
    response = browser.client.get("/api/v1/me")
    assert response.status_code == 401  # a cookie is no bearer token
    assert "Set-Cookie" not in response.headers


def test_a_post_without_the_csrf_token_changes_nothing(console, inspector):
    browser = console(inspector)
    response = browser.client.post("/console/sign-out", data={})
    assert response.status_code == 400
    assert browser.get("/console/").status_code == 200  # still signed in


def test_htmx_posts_carry_the_token_in_a_header(console, inspector):
    browser = console(inspector)
    browser.get("/console/")
    assert browser.htmx_post("/console/sign-out").status_code == 303


def test_a_wrong_password_is_a_page_in_russian_and_counts_toward_the_lockout(app, console, inspector):
    from volunteer_api.extensions import db
    from volunteer_api.people.models import User

    response = console().sign_in(inspector.login, "not the password")
    assert response.status_code == 401
    assert "Неверный логин или пароль." in page_text(response)
    with app.app_context():
        assert db.session.get(User, int(inspector.id)).failed_logins == 1


def test_a_volunteer_cannot_use_the_console(console, volunteer):
    response = console().sign_in(volunteer.login, volunteer.password)
    assert response.status_code == 403
    assert "волонтёры работают в приложении" in page_text(response)


def test_signing_out_ends_the_session_even_for_a_copied_cookie(console, inspector):
    browser = console(inspector)
    stolen = browser.client.get_cookie("console_session", path="/console/").value
    assert browser.post("/console/sign-out").status_code == 303
    thief = console()
    thief.client.set_cookie("console_session", stolen, path="/console/")
    assert thief.get("/console/").status_code == 302


def test_deactivation_bites_at_once(app, console, admin, inspector, client):
    browser = console(inspector)
    assert browser.get("/console/").status_code == 200
    assert client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers,
                        json={"active": False}).status_code == 200
    assert browser.get("/console/").status_code == 302


def test_a_session_idle_too_long_ends(app, console, inspector, monkeypatch):
    browser = console(inspector)
    with browser.client.session_transaction(path="/console/") as session:
        session["seen"] -= app.config["CONSOLE_IDLE_MINUTES"] * 60 + 1
    response = browser.get("/console/")
    assert response.status_code == 302 and "idle=1" in response.headers["Location"]
    # The auth session is revoked, not only forgotten by this browser.
    assert browser.get("/console/").status_code == 302


def test_pages_carry_a_strict_content_security_policy(console):
    policy = console().get("/console/sign-in").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("language, heading", [("ru", "Вход в консоль"), ("kk", "Консольге кіру"), ("en", "Sign in to the console")])
def test_the_language_switch_is_remembered(console, language, heading):
    browser = console()
    browser.get("/console/sign-in")
    browser.post("/console/language", {"language": language, "next": "/console/sign-in"})
    assert heading in page_text(browser.get("/console/sign-in"))


def test_russian_is_the_default(console):
    assert 'lang="ru"' in page_text(console().get("/console/sign-in", headers={"Accept-Language": "de"}))


def test_console_and_api_sign_ins_count_against_the_same_limit(app, console, client, inspector):
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    browser = console()
    for _ in range(limit):
        assert browser.sign_in(inspector.login, "not the password").status_code == 401
    response = browser.sign_in(inspector.login, "not the password")
    assert response.status_code == 429 and "Слишком много запросов" in page_text(response)
    assert client.post("/api/v1/auth/login", json={"login": inspector.login, "password": inspector.password}
                       ).status_code == 429
