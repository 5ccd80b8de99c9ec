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
