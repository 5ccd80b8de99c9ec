"""Resource limits: page sizes, request sizes and each user's rate of writes."""
import pytest

from tests.support import next_phone
from volunteer_api.pagination import MAX_LIMIT

PROBLEM = "application/problem+json"


def register(client, account, **extra):
    body = {"full_name": "Айгуль Нурланова", "phone": next_phone(), "district": "taraz"}
    return client.post("/api/v1/volunteers", headers=account.headers, json=body, **extra)


@pytest.mark.parametrize("path", ["/api/v1/volunteers", "/api/v1/audit"])
def test_a_page_of_at_most_200_is_served_and_201_is_a_422(client, admin, path):
    assert MAX_LIMIT == 200
    assert client.get(f"{path}?limit=200", headers=admin.headers).status_code == 200
    response = client.get(f"{path}?limit=201", headers=admin.headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "limit" in response.get_json()["errors"]


def test_a_body_over_max_content_length_is_a_413_problem_and_nothing_changes(client, admin, app, monkeypatch):
    assert app.config["MAX_CONTENT_LENGTH"] == 11 * 1024 * 1024  # a 10 MB photo and its envelope
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    body = {"full_name": "x" * 4000, "phone": next_phone(), "district": "taraz"}
    response = client.post("/api/v1/volunteers", headers=admin.headers, json=body)
    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 413
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 11 * 1024 * 1024)
    assert client.get("/api/v1/volunteers", headers=admin.headers).get_json()["items"] == []


def test_a_user_over_the_write_limit_gets_a_429_with_retry_after(client, app, make_admin, monkeypatch):
    noisy, quiet = make_admin(), make_admin()
    monkeypatch.setitem(app.config, "WRITE_LIMIT_PER_USER", "3 per minute")
    assert [register(client, noisy).status_code for _ in range(3)] == [201, 201, 201]
    response = register(client, noisy)
    assert response.status_code == 429 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers.get("X-Request-ID")
    # The limit is the user's, not the address's: another admin on the same machine still writes,
    # and the noisy one moving to another address does not escape it.
    assert register(client, quiet).status_code == 201
    assert register(client, noisy, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 429
    # Reads are not writes.
    assert client.get("/api/v1/volunteers", headers=noisy.headers).status_code == 200


def test_signing_in_does_not_count_against_the_write_limit(client, app, admin, monkeypatch):
    monkeypatch.setitem(app.config, "WRITE_LIMIT_PER_USER", "2 per minute")
    for _ in range(4):
        response = client.post("/api/v1/auth/login", json={"login": admin.login, "password": admin.password})
        assert response.status_code == 200
    assert [register(client, admin).status_code for _ in range(3)] == [201, 201, 429]


def test_anonymous_or_forged_token_writes_count_against_the_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WRITE_LIMIT_PER_USER", "2 per minute")
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5OTkifQ.forged"}
    statuses = [client.post("/api/v1/volunteers", headers=forged if n % 2 else {}, json={}).status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]
    assert client.post("/api/v1/volunteers", json={}, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 401


def test_write_limits_are_off_when_ratelimit_enabled_is_false(make_app, admin):
    relaxed = make_app({"RATELIMIT_ENABLED": "false"}, {"WRITE_LIMIT_PER_USER": "1 per minute"})
    client = relaxed.test_client()
    assert [register(client, admin).status_code for _ in range(3)] == [201, 201, 201]


def test_retry_after_is_sent_only_with_a_refusal(client, admin):
    ok = client.post("/api/v1/auth/login", json={"login": admin.login, "password": admin.password})
    assert ok.status_code == 200 and "Retry-After" not in ok.headers and "X-RateLimit-Limit" in ok.headers
    created = client.post("/api/v1/volunteers", headers=admin.headers,
                          json={"full_name": "V", "phone": "87015550001", "district": "taraz"})
    assert created.status_code == 201 and "Retry-After" not in created.headers
