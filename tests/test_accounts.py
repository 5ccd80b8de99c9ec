"""Keeping an account: changing and resetting passwords, forced changes, and the refresh retry window."""
import json

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, sign_in
from tests.support import concurrently, next_phone

NEW_PASSWORD = "seven quiet lanterns"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def change(client, headers, current=PASSWORD, new=NEW_PASSWORD, language="en"):
    return client.post("/api/v1/auth/password", headers={**headers, "Accept-Language": language},
                       json={"current_password": current, "new_password": new})


def audit_rows(app, action: str) -> list:
    from volunteer_api.audit.models import AuditEvent
    from volunteer_api.extensions import db

    with app.app_context():
        return [(e.before, e.after) for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def test_a_refresh_retried_within_60_seconds_answers_the_same_pair(client, volunteer, auth_clock):
    first = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
    auth_clock.advance(seconds=59)
    retry = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
    assert first.status_code == retry.status_code == 200
    pair = lambda answer: (answer["access_token"], answer["refresh_token"])  # noqa: E731
    assert pair(retry.get_json()) == pair(first.get_json())
    # The session goes on: the new pair works, and rotates on as usual.
    tokens = first.get_json()
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 200


def test_a_refresh_replayed_after_60_seconds_ends_the_session(client, volunteer, auth_clock):
    tokens = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).get_json()
    auth_clock.advance(seconds=61)
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_a_token_two_rotations_old_ends_the_session_even_within_60_seconds(client, volunteer):
    second = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).get_json()
    third = client.post("/api/v1/auth/refresh", headers=bearer(second["refresh_token"])).get_json()
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(third["access_token"])).status_code == 401


def test_the_session_row_keeps_no_token(app, client, volunteer):
    from volunteer_api.auth.models import AuthSession
    from volunteer_api.extensions import db

    tokens = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).get_json()
    with app.app_context():
        rows = db.session.scalars(select(AuthSession)).all()
        stored = json.dumps([{c.name: str(getattr(row, c.name)) for c in AuthSession.__table__.columns} for row in rows])
    for token in (volunteer.refresh_token, tokens["refresh_token"], tokens["access_token"]):
        assert token not in stored and token.split(".")[2] not in stored


def test_the_retry_window_is_documented(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/auth/refresh"]["post"]
    text = json.dumps(operation)
    assert "60 seconds" in text and "same new pair" in text and "ends the whole" in text


@pytest.mark.postgres
def test_concurrent_refreshes_with_one_token_all_get_the_same_pair(app, volunteer):
    def refresh():
        response = app.test_client().post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
        return response.status_code, response.get_json().get("refresh_token")

    answers = concurrently(10, refresh)
    assert [status for status, _ in answers] == [200] * 10 and len({token for _, token in answers}) == 1


def test_changing_the_password_ends_the_other_sessions_and_is_audited_without_it(app, client, volunteer):
    other = sign_in(client, volunteer.login)
    assert change(client, volunteer.headers).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(other["refresh_token"])).status_code == 401
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 200  # this session goes on
    assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 401
    assert sign_in(client, volunteer.login, NEW_PASSWORD)["user"]["must_change_password"] is False
    (_, after), = audit_rows(app, "auth.password_changed")
    assert after == {"other_sessions_ended": 1}
    everything = json.dumps(audit_rows(app, "auth.password_changed") + audit_rows(app, "auth.sessions_revoked"))
    assert PASSWORD not in everything and NEW_PASSWORD not in everything and "$argon2" not in everything


@pytest.mark.parametrize(("new", "reason"), [
    ("short1!", "at least 10 characters"),
    ("long " * 30, "at most 128 characters"),
    ("1234567890", "most commonly used"),
    ("Password123", "most commonly used"),  # compared ignoring case
    ("aaaaaaaaaaaa", "easy to guess"),
    ("abcdefghijkl", "easy to guess"),
    ("kazakhstan1", "easy to guess"),
])
def test_a_short_common_or_guessable_password_is_refused_saying_why(client, volunteer, new, reason):
    response = change(client, volunteer.headers, new=new)
    assert response.status_code == 422
    assert reason in response.get_json()["errors"]["new_password"][0]


def test_the_refusal_is_in_the_callers_language(client, volunteer):
    messages = {language: change(client, volunteer.headers, new="1234567890", language=language)
                .get_json()["errors"]["new_password"][0] for language in ("ru", "kk", "en")}
    assert len(set(messages.values())) == 3
    assert "пароль" in messages["ru"].lower() and "құпиясөз" in messages["kk"].lower()


def test_a_wrong_current_password_is_422_and_changes_nothing(client, volunteer):
    response = change(client, volunteer.headers, current="not my password")
    assert response.status_code == 422 and "current_password" in response.get_json()["errors"]
    assert change(client, volunteer.headers, new=PASSWORD).status_code == 422  # the same one again
    sign_in(client, volunteer.login)  # still the old password


def test_an_admin_reset_ends_every_session_and_asks_for_a_new_password(app, client, admin, volunteer, inspector):
    for account, path in ((volunteer, "volunteers"), (inspector, "inspectors")):
        response = client.post(f"/api/v1/{path}/{account.id}/reset-password", headers=admin.headers)
        assert response.status_code == 200
        password = response.get_json()["initial_password"]
        assert client.get("/api/v1/me", headers=account.headers).status_code == 401
        tokens = sign_in(client, account.login, password)
        assert tokens["user"]["must_change_password"] is True
        headers = bearer(tokens["access_token"])
        assert client.get("/api/v1/me", headers=headers).get_json()["must_change_password"] is True
        assert change(client, headers, current=password).status_code == 204
        assert client.get("/api/v1/me", headers=headers).get_json()["must_change_password"] is False
    assert client.post(f"/api/v1/volunteers/{inspector.id}/reset-password", headers=admin.headers).status_code == 404
    assert client.post(f"/api/v1/inspectors/{volunteer.id}/reset-password", headers=admin.headers).status_code == 404
    resets = audit_rows(app, "auth.password_reset")
    assert len(resets) == 2 and "initial_password" not in json.dumps(resets) and "$argon2" not in json.dumps(resets)


@pytest.fixture
def generated_volunteer(client, admin):
    """A volunteer registered without a password: the server generated one (must_change_password)."""
    created = client.post("/api/v1/volunteers", headers=admin.headers,
                          json={"full_name": "Айгуль Нурланова", "phone": next_phone(), "district": "taraz"}).get_json()
    tokens = sign_in(client, created["phone"], created["initial_password"])
    assert tokens["user"]["must_change_password"] is True
    return created, tokens


def test_force_password_change_lets_an_account_with_a_generated_password_do_nothing_else(
        app, client, generated_volunteer, monkeypatch):
    created, tokens = generated_volunteer
    headers = bearer(tokens["access_token"])
    assert client.get("/api/v1/inspections", headers=headers).status_code == 200  # off by default
    monkeypatch.setitem(app.config, "FORCE_PASSWORD_CHANGE", True)
    refused = client.get("/api/v1/inspections", headers=headers)
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    assert refused.get_json()["type"].endswith("/password-change-required")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    headers = bearer(refreshed.get_json()["access_token"])
    assert change(client, headers, current=created["initial_password"]).status_code == 204
    assert client.get("/api/v1/inspections", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204


def test_logout_needs_no_password_change_first(app, client, generated_volunteer, monkeypatch):
    monkeypatch.setitem(app.config, "FORCE_PASSWORD_CHANGE", True)
    _, tokens = generated_volunteer
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
