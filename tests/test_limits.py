"""Resource limits: page sizes, request sizes and each user's rate of writes."""
import io
import json

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


def test_a_json_body_over_its_limit_is_a_413_problem_and_nothing_changes(client, admin, app, monkeypatch):
    assert app.config["MAX_CONTENT_LENGTH"] == 11 * 1024 * 1024  # a 10 MB photo and its envelope
    assert app.config["MAX_JSON_BODY_BYTES"] == 64 * 1024  # JSON has a limit of its own
    monkeypatch.setitem(app.config, "MAX_JSON_BODY_BYTES", 2048)
    body = {"full_name": "x" * 4000, "phone": next_phone(), "district": "taraz"}
    response = client.post("/api/v1/volunteers", headers=admin.headers, json=body)
    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 413
    monkeypatch.setitem(app.config, "MAX_JSON_BODY_BYTES", 64 * 1024)
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


# JSON bodies: one unauthenticated request must not be able to pin a worker.

class RecordingStream(io.BytesIO):
    """A request body that counts the bytes anyone read from it."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


TWO_MB_OF_ZEROS = b"[" + b"0," * (1024 * 1024 - 1) + b"0]"
JSON_ROUTES = [("GET", "/healthz"), ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/me"), ("POST", "/api/v1/inspections"),
               ("PATCH", "/api/v1/sites/1"), ("POST", "/api/v1/nowhere")]


@pytest.mark.parametrize("method, path", JSON_ROUTES)
def test_a_2_mb_json_body_is_a_413_on_any_route_before_a_byte_of_it_is_read(client, volunteer, method, path):
    body = RecordingStream(TWO_MB_OF_ZEROS)
    response = client.open(path, method=method, headers=volunteer.headers, input_stream=body,
                           content_type="application/json")
    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert body.bytes_read == 0


def test_a_chunked_json_body_without_content_length_is_cut_off_at_the_limit(client, app, volunteer):
    body = RecordingStream(TWO_MB_OF_ZEROS)
    response = client.post("/api/v1/inspections", headers={**volunteer.headers, "Transfer-Encoding": "chunked"},
                           input_stream=body, content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert body.bytes_read <= 2 * app.config["MAX_JSON_BODY_BYTES"]


def test_a_route_that_reads_no_json_never_reads_the_body(client, volunteer):
    nuls = json.dumps(["\u0000"] * 1000).encode()
    for path in ("/healthz", "/api/v1/me"):
        body = RecordingStream(nuls)
        response = client.get(path, headers=volunteer.headers, input_stream=body, content_type="application/json")
        assert response.status_code == 200 and body.bytes_read == 0, path


def test_many_nul_strings_answer_a_small_422_naming_at_most_20_fields(client, admin, make_site):
    site_id = make_site()
    body = {f"f{n}": "\u0000" for n in range(3000)}
    assert len(json.dumps(body)) < 64 * 1024
    for path, method, headers in (("/api/v1/auth/login", "POST", {}), (f"/api/v1/sites/{site_id}", "PATCH", admin.headers)):
        response = client.open(path, method=method, headers=headers, json=body)
        assert response.status_code == 422 and response.mimetype == PROBLEM, path
        assert 0 < len(response.get_json()["errors"]) <= 20 and len(response.get_data()) < 4096, path


@pytest.mark.parametrize("path, authenticated", [("/api/v1/auth/login", False), ("/api/v1/inspections", True),
                                                 ("/api/v1/volunteers", True)])
def test_a_5000_digit_integer_is_a_400_not_a_crash(client, admin, volunteer, path, authenticated):
    account = admin if path == "/api/v1/volunteers" else volunteer
    data = '{"login": "a@b.kz", "password": "x", "site_id": ' + "9" * 5000 + "}"
    response = client.post(path, data=data, content_type="application/json",
                           headers=account.headers if authenticated else {})
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_a_json_body_is_parsed_once_per_request(client, admin, monkeypatch):
    import volunteer_api.security  # noqa: F401 - the parser under test; json is the module everyone shares

    text = json.dumps({"login": admin.login, "password": admin.password})
    parses = []
    real_loads = json.loads

    def counting_loads(value, *args, **kwargs):
        if (value.decode() if isinstance(value, bytes) else value) == text:
            parses.append(value)
        return real_loads(value, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting_loads)
    response = client.post("/api/v1/auth/login", data=text, content_type="application/json")
    assert response.status_code == 200 and len(parses) == 1
