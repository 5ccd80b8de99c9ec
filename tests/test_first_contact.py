"""What a new user meets first: the front door, the 401's challenge, the admin command run twice."""
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("path", ["/", "/api/v1/"])
@pytest.mark.parametrize("language, title", [("ru", "Волонтёрский мониторинг"), ("kk", "Еріктілер мониторингі"),
                                             ("en", "Volunteer Monitor")])
def test_a_browser_at_the_front_door_gets_a_page_linking_the_console_the_app_and_the_docs(client, path, language, title):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": language}
    response = client.get(path, headers=browser)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in page and f"<h1>{title}</h1>" in page
    for link in ('href="/console/"', 'href="/app/"', 'href="/api/v1/docs"', 'href="/api/v1/openapi.json"'):
        assert link in page
    assert "script-src" not in response.headers["Content-Security-Policy"]


def test_a_json_client_at_the_front_door_gets_the_links(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json()["links"]["docs"] == "/api/v1/docs"


def test_a_401_names_the_bearer_scheme(client):
    for response in (client.get("/api/v1/me"),
                     client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}),
                     client.post("/api/v1/auth/login", json={"login": "+77010000000", "password": "wrong password"})):
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert "WWW-Authenticate" not in client.get("/healthz").headers


def flask_command(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_serving_twice_upgrades_again_and_create_admin_for_an_existing_login_says_so_in_one_line(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'twice.db'}"
    admin = ("create-admin", "--login", "Admin@Example.kz", "--password", "long enough password", "--name", "Admin")
    for _ in range(2):  # what scripts/serve runs on every start
        assert flask_command("db", "upgrade", database_url=database_url).returncode == 0
    first = flask_command(*admin, database_url=database_url)
    assert first.returncode == 0 and "created" in first.stdout
    again = flask_command(*admin, database_url=database_url)
    assert again.returncode == 1
    assert again.stderr.strip() == "Error: This e-mail belongs to another account."
    assert "Traceback" not in again.stdout + again.stderr


def all_messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in all_messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in all_messages(value)]
    return [errors]


BAD_SITE = {"name": "", "kind": "castle", "district": "taraz", "location": {"lat": 91, "lon": 71.3667},
            "budget_kzt": 12.5, "planned_completion": "someday", "colour": "red"}
BAD_VOLUNTEER = {"full_name": "A" * 201, "phone": "12345", "district": "atlantis", "email": "not-an-email"}


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_field_message_of_a_422_is_in_the_callers_language_marshmallows_own_included(client, admin, language):
    headers = {**admin.headers, "Accept-Language": language}
    site = client.post("/api/v1/sites", headers=headers, json=BAD_SITE).get_json()
    missing = client.post("/api/v1/sites", headers=headers, json={"kind": "school"}).get_json()
    volunteer = client.post("/api/v1/volunteers", headers=headers, json=BAD_VOLUNTEER).get_json()
    district = client.post("/api/v1/volunteers", headers=headers,
                           json={"full_name": "Aida", "phone": "+77011234567", "district": "atlantis"}).get_json()
    totals = client.get("/api/v1/savings/totals?by=galaxy", headers=headers).get_json()
    errors = {**site["errors"], **missing["errors"], **volunteer["errors"], **district["errors"], **totals["errors"]}
    for field in ("name", "kind", "location.lat", "budget_kzt", "planned_completion", "colour",
                  "full_name", "phone", "email", "district", "by.0"):
        assert field in errors, field
    english = [m for m in all_messages(errors) if not any("а" <= ch.lower() <= "я" or ch in "әғқңөұүһі" for ch in m)]
    assert english == []


def test_english_callers_keep_the_libraries_own_words(client, admin):
    errors = client.post("/api/v1/sites", headers={**admin.headers, "Accept-Language": "en"}, json=BAD_SITE).get_json()["errors"]
    assert errors["kind"][0].startswith("Must be one of: school, kindergarten")
    assert errors["colour"] == ["Unknown field."]


def test_a_library_message_with_values_is_translated_around_them(app):
    from flask_babel import force_locale

    from volunteer_api.i18n import translate_message

    with app.test_request_context(), force_locale("ru"):
        assert translate_message("Must be greater than or equal to 0 and less than or equal to 100.") == \
            "Должно быть не меньше 0 и не больше 100."
        assert translate_message("Must be greater than 5.") == "Должно быть больше 5."
        assert translate_message("Shorter than minimum length 10.") == "Короче минимума (10)."
        assert translate_message("Something only we say.") == "Something only we say."


def test_a_json_body_boolean_is_true_or_false_only(client, admin):
    volunteer = client.post("/api/v1/volunteers", headers=admin.headers,
                            json={"full_name": "Aida", "phone": "+77014300001", "district": "taraz"}).get_json()
    for value in (0, 1, "yes", "true"):
        response = client.patch(f"/api/v1/volunteers/{volunteer['id']}", headers=admin.headers, json={"active": value})
        assert response.status_code == 422 and "active" in response.get_json()["errors"], value
    assert client.patch(f"/api/v1/volunteers/{volunteer['id']}", headers=admin.headers,
                        json={"active": False}).status_code == 200
    assert client.get("/api/v1/volunteers?active=false", headers=admin.headers).status_code == 200  # a query says it in text
