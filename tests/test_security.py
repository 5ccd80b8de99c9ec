"""HTTP hardening: headers, CORS, production secrets, request ids, logs without secrets, no leaking 500s."""
import io
import json
import logging
import re

import pytest
from sqlalchemy import text

from config import DEFAULT_SECRET, load_config
from volunteer_api.extensions import db
from volunteer_api.observability import json_log_handler

CONSOLE = "https://console.volunteer-monitor.kz"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def test_every_answer_carries_the_security_headers(client):
    for response in (client.get("/api/v1/districts"), client.get("/api/v1/nowhere"), client.get("/api/v1/me")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert headers["Cache-Control"] == "no-store"


def test_without_configured_origins_no_browser_origin_is_allowed(client):
    response = client.get("/api/v1/districts", headers={"Origin": CONSOLE})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_only_the_configured_origins(make_app):
    client = make_app({"CORS_ORIGINS": f"{CONSOLE}, https://admin.volunteer-monitor.kz"}).test_client()
    preflight = {"Origin": CONSOLE, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Authorization, Content-Type"}
    allowed = client.options("/api/v1/volunteers", headers=preflight)
    assert allowed.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    simple = client.get("/api/v1/districts", headers={"Origin": CONSOLE})
    assert simple.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]

    for origin in ("https://evil.example", "https://console.volunteer-monitor.kz.evil.example", "null"):
        denied = client.options("/api/v1/volunteers", headers={**preflight, "Origin": origin})
        assert "Access-Control-Allow-Origin" not in denied.headers, origin
        assert "Access-Control-Allow-Origin" not in client.get("/api/v1/districts", headers={"Origin": origin}).headers


@pytest.mark.parametrize("secret", [None, "", DEFAULT_SECRET, "short", "x" * 31])
def test_production_refuses_to_start_with_a_default_or_short_secret_key(monkeypatch, make_app, secret):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/volunteer_monitor")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app({"APP_ENV": "production", "SECRET_KEY": secret or None})


def test_production_starts_with_a_long_random_secret_key(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/volunteer_monitor")
    monkeypatch.setenv("REDIS_URL", "redis://redis-host:6379/0")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("AUDIT_KEY", "a" * 48)
    config = load_config("production")
    assert config.SECRET_KEY == config.JWT_SECRET_KEY == "k" * 48
    assert config.AUDIT_KEY == "a" * 48 and not config.AUDIT_KEY_DERIVED


@pytest.mark.parametrize("audit_key", [None, "short", "k" * 48])
def test_production_refuses_to_start_without_its_own_strong_audit_key(monkeypatch, audit_key):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/volunteer_monitor")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    if audit_key is None:
        monkeypatch.delenv("AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("AUDIT_KEY", audit_key)
    with pytest.raises(RuntimeError, match="AUDIT_KEY"):
        load_config("production")


def test_development_derives_an_audit_key_from_the_secret_and_says_so(monkeypatch):
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY", "d" * 40)
    config = load_config("development")
    assert config.AUDIT_KEY_DERIVED and len(config.AUDIT_KEY) == 64 and "d" * 8 not in config.AUDIT_KEY


def test_a_well_formed_request_id_is_echoed(client):
    for path in ("/api/v1/districts", "/api/v1/nowhere", "/api/v1/me"):
        response = client.get(path, headers={"X-Request-ID": "phone-7f3a:retry.2"})
        assert response.headers["X-Request-ID"] == "phone-7f3a:retry.2"


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "x" * 65, "<script>alert(1)</script>", "id;drop"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_fresh_one(client, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    first = client.get("/api/v1/districts", headers=headers).headers["X-Request-ID"]
    second = client.get("/api/v1/districts", headers=headers).headers["X-Request-ID"]
    assert HEX_ID.match(first) and HEX_ID.match(second) and first != second


def test_a_refused_media_type_still_answers_with_a_request_id(client, admin):
    response = client.post("/api/v1/volunteers", headers={**admin.headers, "X-Request-ID": "media-1"},
                           data="full_name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.headers["X-Request-ID"] == "media-1"


@pytest.fixture
def json_log():
    """The JSON lines every logger writes while the test runs, as the production handler formats them."""
    stream = io.StringIO()
    handler = json_log_handler(stream)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved_level)


def log_lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_log_lines_are_json_with_the_request_id_and_never_a_password_or_token(make_app, admin, json_log):
    client = make_app({}, {"ACCESS_LOG": True}).test_client()
    wrong = client.post("/api/v1/auth/login", json={"login": admin.login, "password": "wrong password 123"},
                        headers={"X-Request-ID": "login-wrong"})
    assert wrong.status_code == 401
    right = client.post("/api/v1/auth/login", json={"login": admin.login, "password": admin.password},
                        headers={"X-Request-ID": "login-right"})
    tokens = right.get_json()
    me = client.get("/api/v1/me?access_token=" + tokens["access_token"],
                    headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "me-1"})
    assert me.status_code == 200
    refreshed = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.status_code == 200

    lines = log_lines(json_log)
    access = {line["request_id"]: line for line in lines if line["name"] == "volunteer_api.access"}
    assert access["login-wrong"]["status"] == 401 and access["login-wrong"]["path"] == "/api/v1/auth/login"
    assert access["login-right"]["status"] == 200
    assert access["me-1"]["path"] == "/api/v1/me" and access["me-1"]["user_id"] == admin.id
    assert all({"asctime", "levelname", "name", "message", "request_id"} <= set(line) for line in lines)
    output = json_log.getvalue()
    for secret in ("wrong password 123", admin.password, tokens["access_token"], tokens["refresh_token"],
                   refreshed.get_json()["access_token"], "Bearer", "access_token"):
        assert secret not in output


def test_a_secret_that_reaches_a_log_message_is_redacted(json_log):
    logging.getLogger("volunteer_api.test").warning(
        "calling smtp://alerts:s3cr3t-pass@mail.example.kz with Authorization: Bearer abc.def.ghi and "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
    output = json_log.getvalue()
    assert "s3cr3t-pass" not in output and "abc.def.ghi" not in output and "eyJzdWIiOiIxIn0" not in output
    assert "mail.example.kz" in output


def test_a_crash_answers_a_bare_500_problem_without_stack_trace_or_sql(make_app, json_log):
    crashing = make_app({})

    def broken_code():
        raise RuntimeError("internal state: users table is inconsistent")

    def broken_query():
        db.session.execute(text("SELECT password_hash FROM no_such_table"))

    crashing.add_url_rule("/test-only/broken-code", "broken_code", broken_code)
    crashing.add_url_rule("/test-only/broken-query", "broken_query", broken_query)
    client = crashing.test_client()
    for path in ("/test-only/broken-code", "/test-only/broken-query"):
        response = client.get(path, headers={"X-Request-ID": "crash-1"})
        assert response.status_code == 500 and response.mimetype == "application/problem+json"
        body = response.get_data(as_text=True)
        assert set(response.get_json()) == {"type", "title", "status", "detail"}
        for leak in ("Traceback", "RuntimeError", "inconsistent", "SELECT", "no_such_table", "password_hash",
                     "sqlalchemy", ".py"):
            assert leak not in body, leak
    # The stack trace goes to the log, tied to the request by its id.
    errors = [line for line in log_lines(json_log) if line["levelname"] == "ERROR"]
    assert len(errors) == 2 and all(e["request_id"] == "crash-1" and "Traceback" in e["exc_info"] for e in errors)


def test_unknown_or_protected_fields_are_refused_and_change_nothing(client, admin):
    from tests.support import next_phone

    base = {"full_name": "Айгуль Нурланова", "phone": next_phone(), "district": "taraz"}
    for extra in ({"id": "1"}, {"role": "admin"}, {"status": "approved"}, {"active": False}, {"is_admin": True}):
        response = client.post("/api/v1/volunteers", headers=admin.headers, json={**base, **extra})
        assert response.status_code == 422 and set(extra) <= set(response.get_json()["errors"]), extra
    volunteer = client.post("/api/v1/volunteers", headers=admin.headers, json=base).get_json()
    volunteer.pop("initial_password")
    for extra in ({"id": "1"}, {"role": "admin"}, {"badge_number": "ZHB-0"}, {"phone": next_phone()}):
        response = client.patch(f"/api/v1/volunteers/{volunteer['id']}", headers=admin.headers, json=extra)
        assert response.status_code == 422, extra
    assert client.get(f"/api/v1/volunteers/{volunteer['id']}", headers=admin.headers).get_json() == volunteer
    inspector = {"full_name": "Inspector", "districts": ["taraz"], "password": "a long enough password"}
    response = client.post("/api/v1/inspectors", headers=admin.headers, json={**inspector, "role": "admin"})
    assert response.status_code == 422 and "role" in response.get_json()["errors"]


def test_production_refuses_a_webhook_without_a_strong_signing_secret(monkeypatch):
    from config import load_config

    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/whatever")
    monkeypatch.setenv("AUDIT_KEY", "a" * 48)
    monkeypatch.setenv("REDIS_URL", "redis://redis-host:6379/0")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "https://agency.example/hook")
    for secret in ("", "short"):
        monkeypatch.setenv("ALERT_WEBHOOK_SECRET", secret)
        with pytest.raises(RuntimeError, match="ALERT_WEBHOOK_SECRET"):
            load_config("production")
    monkeypatch.setenv("ALERT_WEBHOOK_SECRET", "k" * 40)
    assert load_config("production").ALERT_WEBHOOK_URL


def test_behind_trusted_proxies_the_caller_address_comes_from_x_forwarded_for(make_app):
    from flask import g

    app = make_app({"TRUSTED_PROXY_HOPS": "1"})
    seen = {}

    @app.after_request
    def remember(response):
        seen["address"] = g.get("client_address")
        return response

    app.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen["address"] == "203.0.113.7"


@pytest.mark.parametrize("missing, setting", [({"REDIS_URL": None}, "REDIS_URL"),
                                              ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
                                              ({"CORS_ORIGINS": f"{CONSOLE},*"}, "CORS_ORIGINS")])
def test_production_refuses_to_start_without_redis_or_with_any_origin(monkeypatch, missing, setting):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/volunteer_monitor")
    monkeypatch.setenv("REDIS_URL", "redis://redis-host:6379/0")
    monkeypatch.setenv("AUDIT_KEY", "a" * 48)
    for name, value in missing.items():
        monkeypatch.delenv(name) if value is None else monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=setting):
        load_config("production")


def test_without_secret_key_each_instance_makes_its_own_secret_once_readable_only_by_its_owner(tmp_path):
    import stat

    from config import instance_secret

    first, second = tmp_path / "one", tmp_path / "two"
    secret = instance_secret(first)
    assert len(secret) >= 32 and secret != DEFAULT_SECRET
    assert instance_secret(first) == secret and instance_secret(second) != secret
    assert stat.S_IMODE((first / "secret_key").stat().st_mode) == 0o600
    assert sorted(path.name for path in first.iterdir()) == ["secret_key"]


def test_development_signs_with_the_instance_secret_not_the_repositorys(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    for env in ("development", "testing"):
        config = load_config(env)
        assert config.SECRET_KEY == config.JWT_SECRET_KEY != DEFAULT_SECRET and len(config.SECRET_KEY) >= 32


def test_development_warns_once_when_it_answers_beyond_loopback(make_app, json_log):
    # An AUDIT_KEY of its own: this test is about the signing secret's warning, not the audit key's.
    client = make_app({"APP_ENV": "development", "SECRET_KEY": None, "AUDIT_KEY": "k" * 48}).test_client()
    client.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert not [line for line in log_lines(json_log) if line["levelname"] == "WARNING"]
    for _ in range(2):
        client.get("/healthz", environ_base={"REMOTE_ADDR": "192.168.1.20"})
    warnings = [line for line in log_lines(json_log) if line["levelname"] == "WARNING"]
    assert len(warnings) == 1 and "192.168.1.20" in warnings[0]["message"]


def test_a_database_error_logs_neither_its_parameters_nor_a_password_hash(make_app, json_log):
    from volunteer_api.auth.passwords import hash_password

    crashing = make_app({})
    with crashing.app_context():
        phone, password_hash = "+77015550123", hash_password("a password nobody may read")

    def broken_query():
        db.session.execute(text("SELECT no_such_column FROM users WHERE phone = :phone AND password_hash = :hash"),
                           {"phone": phone, "hash": password_hash})

    crashing.add_url_rule("/test-only/broken-query", "broken_query", broken_query)
    assert crashing.test_client().get("/test-only/broken-query").status_code == 500
    logging.getLogger("volunteer_api.test").error("a row leaked into a message: %s", password_hash)
    output = json_log.getvalue()
    assert "no_such_column" in output  # the error is logged...
    assert phone not in output and password_hash not in output and "$argon2" not in output  # ...without the values


def test_a_write_decodes_its_token_once(client, app, admin, monkeypatch):
    """The write limiter's key and the view's authentication share one verified decode per request."""
    from flask_jwt_extended import jwt_manager

    assert app.config["RATELIMIT_ENABLED"]  # the limiter's key reads the token too
    decodes = []
    original = jwt_manager._decode_jwt
    monkeypatch.setattr(jwt_manager, "_decode_jwt", lambda **kwargs: decodes.append(1) or original(**kwargs))
    response = client.post("/api/v1/sites", headers=admin.headers, json={
        "name": "School", "kind": "school", "district": "taraz", "location": {"lat": 42.9, "lon": 71.37},
        "budget_kzt": "1000000.00"})
    assert response.status_code == 201, response.get_json()
    assert len(decodes) == 1
    # A bad token is never kept: both readers refuse it, and the answer is a 401.
    bad = client.post("/api/v1/sites", headers={"Authorization": "Bearer not-a-token"}, json={})
    assert bad.status_code == 401
