"""Sign-in, token rotation, sign-out and deactivation, per the contract's Auth section."""
import pytest

from tests.factories import PASSWORD, sign_in
from tests.support import next_phone


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_by_phone_in_any_spelling_returns_tokens_and_the_user(client, make_volunteer):
    phone = next_phone()  # +7701XXXXXXX
    volunteer = make_volunteer(phone=phone)
    spelled = f"8 {phone[2:5]} {phone[5:8]} {phone[8:10]} {phone[10:]}"
    response = client.post("/api/v1/auth/login", json={"login": spelled, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["user"]["id"] == volunteer.id and body["user"]["role"] == "volunteer"
    assert "password_hash" not in body["user"]


def test_login_by_email_ignores_case(client, make_admin):
    make_admin("Chief@Example.kz")
    assert client.post("/api/v1/auth/login", json={"login": "CHIEF@example.KZ", "password": PASSWORD}).status_code == 200


def test_wrong_password_and_unknown_login_get_the_same_answer(client, volunteer):
    wrong = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": "not the password"})
    unknown = client.post("/api/v1/auth/login", json={"login": "+77019999999", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content_type == "application/problem+json"
    assert wrong.get_json() == unknown.get_json()


def test_repeated_failures_for_one_login_are_rate_limited_with_retry_after(client, volunteer):
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": "wrong-wrong"}).status_code == 401
    blocked = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.content_type == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) > 0
    # Another account from the same address is not locked by this one's failures.
    other = client.post("/api/v1/auth/login", json={"login": "+77010000001", "password": "x"})
    assert other.status_code == 401


def test_repeated_failures_from_one_address_are_rate_limited(app, client):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split()[0])
    for attempt in range(limit):
        client.post("/api/v1/auth/login", json={"login": f"+7701{attempt:07d}", "password": "wrong-wrong"})
    response = client.post("/api/v1/auth/login", json={"login": "+77017777777", "password": "wrong-wrong"})
    assert response.status_code == 429


def test_successful_logins_do_not_count_towards_the_limit(client, volunteer):
    for _ in range(8):
        assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 200


def test_refresh_rotates_and_the_old_refresh_token_stops_working(client, volunteer, auth_clock):
    first = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
    assert first.status_code == 200
    rotated = first.get_json()
    assert rotated["refresh_token"] != volunteer.refresh_token
    assert client.get("/api/v1/me", headers=bearer(rotated["access_token"])).status_code == 200
    auth_clock.advance(seconds=61)  # past the retry window
    replay = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
    assert replay.status_code == 401


def test_replaying_an_old_refresh_token_ends_the_session(client, volunteer, auth_clock):
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).get_json()
    auth_clock.advance(seconds=61)
    client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token))
    # The stolen token's replay revoked the session: the legitimate new tokens die with it.
    assert client.get("/api/v1/me", headers=bearer(rotated["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(rotated["refresh_token"])).status_code == 401


def test_an_access_token_cannot_refresh_and_a_refresh_token_cannot_call_the_api(client, volunteer):
    access = volunteer.headers["Authorization"].split()[1]
    assert client.post("/api/v1/auth/refresh", headers=bearer(access)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(volunteer.refresh_token)).status_code == 401


def test_logout_revokes_the_access_token_and_its_refresh_token_at_once(client, volunteer):
    assert client.post("/api/v1/auth/logout", headers=volunteer.headers).status_code == 204
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401


def test_logout_with_the_refresh_token_also_ends_the_session(client, volunteer):
    assert client.post("/api/v1/auth/logout", headers=bearer(volunteer.refresh_token)).status_code == 204
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401


def test_other_sessions_of_the_same_user_survive_a_logout(client, volunteer):
    second = sign_in(client, volunteer.login)
    client.post("/api/v1/auth/logout", headers=volunteer.headers)
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200


def test_deactivation_stops_the_volunteers_tokens_at_once(client, admin, volunteer):
    response = client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401
    relogin = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD})
    assert relogin.status_code == 401


@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Bearer not-a-jwt",
    "Basic dXNlcjpwYXNz",
    "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
])
def test_every_token_failure_is_a_401_problem_document(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_an_expired_access_token_is_a_401(app, client, volunteer):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token, decode_token

    with app.app_context():
        claims = decode_token(volunteer.headers["Authorization"].split()[1])
        expired = create_access_token(identity=claims["sub"], additional_claims={"sid": claims["sid"]},
                                      expires_delta=timedelta(seconds=-1))
    assert client.get("/api/v1/me", headers=bearer(expired)).status_code == 401


def test_a_token_signed_with_another_key_is_a_401(client, volunteer):
    import jwt as pyjwt

    forged = pyjwt.encode({"sub": volunteer.id, "sid": "x", "type": "access", "jti": "x"}, "another-key-of-enough-length-1234567", algorithm="HS256")
    assert client.get("/api/v1/me", headers=bearer(forged)).status_code == 401


# A token's verified claims are remembered until it expires (extensions.RememberingJWTManager): each test
# below first has the token accepted, so it is remembered, then shows what must still refuse it.

def test_a_remembered_token_is_refused_once_its_session_ends(client, volunteer):
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=volunteer.headers).status_code == 204
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401


def test_a_remembered_token_is_refused_once_it_expires(app, client, volunteer):
    import time
    from datetime import timedelta

    from flask_jwt_extended import create_access_token, decode_token

    with app.app_context():
        claims = decode_token(volunteer.headers["Authorization"].split()[1])
        short = create_access_token(identity=claims["sub"], additional_claims={"sid": claims["sid"]},
                                    expires_delta=timedelta(seconds=2))
        expiry = decode_token(short)["exp"]
    assert client.get("/api/v1/me", headers=bearer(short)).status_code == 200
    time.sleep(max(0.0, expiry - time.time()) + 0.1)
    assert client.get("/api/v1/me", headers=bearer(short)).status_code == 401


def test_a_token_that_differs_from_a_remembered_one_only_in_its_signature_is_refused(client, volunteer):
    token = volunteer.headers["Authorization"].split()[1]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    head, payload, signature = token.split(".")
    middle = len(signature) // 2
    altered = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    assert client.get("/api/v1/me", headers=bearer(f"{head}.{payload}.{altered}")).status_code == 401


def test_an_application_with_another_key_refuses_a_token_the_first_one_remembered(app, client, make_app, volunteer):
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 200
    other = make_app({}, {"JWT_SECRET_KEY": "another-signing-key-of-enough-length-0123456789"})
    assert other.test_client().get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 200


def test_revocation_holds_and_sign_in_works_while_redis_is_down(make_app, volunteer):
    """The database is the source of truth: a dead Redis neither lets a revoked token in nor locks anyone out."""
    app = make_app({"REDIS_URL": "redis://127.0.0.1:1/0"})
    client = app.test_client()
    tokens = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD})
    assert tokens.status_code == 200
    access = tokens.get_json()["access_token"]
    assert client.get("/api/v1/me", headers=bearer(access)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(access)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(access)).status_code == 401


def test_the_next_tests_count_sign_ins_in_the_real_limiter_storage_after_an_app_with_a_dead_redis(app, make_app, volunteer):
    """The fixtures' side: after this, the limit tests must not count in the fallback (see reset_rate_limits)."""
    from tests.support import reset_rate_limits
    from volunteer_api.extensions import limiter

    dead = make_app({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert dead.test_client().post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 200
    limiter.init_app(app)  # what make_app does afterwards: the fallback stays on
    assert limiter.limiter.storage is not limiter.storage
    reset_rate_limits()  # what _clean_state does after every test
    assert limiter.limiter.storage is limiter.storage


def test_a_password_set_by_the_server_is_rehashed_at_full_cost_on_first_login(app, client, admin):
    from volunteer_api.extensions import db
    from volunteer_api.people.models import User

    created = client.post("/api/v1/volunteers", headers=admin.headers,
                          json={"full_name": "Нурлан Ахметов", "phone": next_phone(), "district": "taraz"}).get_json()
    with app.app_context():
        before = db.session.get(User, int(created["id"])).password_hash
    assert client.post("/api/v1/auth/login", json={"login": created["phone"], "password": created["initial_password"]}).status_code == 200
    with app.app_context():
        after = db.session.get(User, int(created["id"])).password_hash
    assert before.startswith("$argon2id$") and after.startswith("$argon2id$") and after != before


def test_reactivating_an_account_does_not_revive_its_old_tokens(client, admin, volunteer):
    client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json={"active": False})
    client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json={"active": True})
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401
    assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 200


def test_a_session_ends_at_its_absolute_expiry_whatever_the_refreshes(app, client, volunteer):
    from datetime import timedelta

    from volunteer_api.auth.models import AuthSession
    from volunteer_api.extensions import db
    from volunteer_api.timestamps import utcnow

    with app.app_context():
        for session in db.session.query(AuthSession).filter_by(user_id=int(volunteer.id)):
            session.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401


def test_the_database_locks_an_account_after_repeated_failures_even_without_the_rate_limiter(make_app, volunteer):
    """The backstop when the limiter's Redis is down (or counts per process): twenty wrong passwords in a row."""
    from datetime import timedelta

    from volunteer_api.extensions import db
    from volunteer_api.people.models import User
    from volunteer_api.timestamps import utcnow

    app = make_app({"RATELIMIT_ENABLED": "false"})
    client = app.test_client()
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER_FAILURES"]):
        assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": "wrong-wrong"}).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD})
    assert locked.status_code == 401 and locked.content_type == "application/problem+json"
    with app.app_context():
        user = db.session.get(User, int(volunteer.id))
        user.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
        db.session.commit()
    assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 200
    with app.app_context():
        assert db.session.get(User, int(volunteer.id)).failed_logins == 0


def test_a_success_resets_the_count_of_failures(make_app, volunteer):
    app = make_app({"RATELIMIT_ENABLED": "false"})
    client = app.test_client()
    for _ in range(3):
        for _ in range(app.config["LOGIN_LOCKOUT_AFTER_FAILURES"] - 1):
            client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": "wrong-wrong"})
        assert client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": PASSWORD}).status_code == 200


# Sign-ins: successes are limited too, sessions are capped, a lockout looks like a wrong password.

def login(client, account, password=PASSWORD, address="127.0.0.1"):
    return client.post("/api/v1/auth/login", json={"login": account.login, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_successful_sign_ins_are_limited_per_account(client, app, make_volunteer, monkeypatch):
    busy, other = make_volunteer(), make_volunteer()
    monkeypatch.setitem(app.config, "LOGIN_SUCCESS_LIMIT_PER_ACCOUNT", "3 per minute")
    # The fixture's own sign-in was counted before the setting changed; three more in the new window.
    statuses = [login(client, busy, address="10.0.0.1").status_code for _ in range(4)]
    assert statuses[-1] == 429 and statuses.count(200) <= 3
    assert login(client, busy, address="10.0.0.2").status_code == 429  # the account's, from anywhere
    assert login(client, other, address="10.0.0.1").status_code == 200


def test_successful_sign_ins_are_limited_per_address(client, app, make_volunteer, monkeypatch):
    accounts = [make_volunteer() for _ in range(4)]
    monkeypatch.setitem(app.config, "LOGIN_SUCCESS_LIMIT_PER_ADDRESS", "3 per minute")
    assert [login(client, account, address="10.0.0.9").status_code for account in accounts] == [200, 200, 200, 429]
    assert login(client, accounts[3], address="10.0.0.10").status_code == 200


def test_open_sessions_per_account_are_capped_and_the_oldest_is_revoked(client, app, make_volunteer, monkeypatch):
    assert app.config["MAX_SESSIONS_PER_ACCOUNT"] == 10
    monkeypatch.setitem(app.config, "MAX_SESSIONS_PER_ACCOUNT", 3)
    volunteer = make_volunteer()  # session 1
    sessions = [login(client, volunteer).get_json() for _ in range(3)]  # sessions 2-4: the first is revoked
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(volunteer.refresh_token)).status_code == 401
    for tokens in sessions:
        assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    with app.app_context():
        from sqlalchemy import func, select

        from volunteer_api.audit.models import AuditEvent
        from volunteer_api.auth.models import AuthSession
        from volunteer_api.extensions import db

        open_sessions = db.session.scalar(select(func.count()).select_from(AuthSession).where(
            AuthSession.user_id == int(volunteer.id), AuthSession.revoked_at.is_(None)))
        assert open_sessions == 3
        reasons = db.session.scalars(select(AuditEvent.after).where(AuditEvent.action == "auth.session_revoked")).all()
        assert [reason["reason"] for reason in reasons] == ["session_limit"]


def lock(app, account):
    from datetime import timedelta

    from volunteer_api.extensions import db
    from volunteer_api.people.models import User
    from volunteer_api.timestamps import utcnow

    with app.app_context():
        db.session.get(User, int(account.id)).locked_until = utcnow() + timedelta(minutes=15)
        db.session.commit()


def test_a_locked_account_answers_exactly_like_a_wrong_password_or_an_unknown_login(client, app, volunteer):
    wrong = login(client, volunteer, password="not the password")
    unknown = client.post("/api/v1/auth/login", json={"login": "+77019999999", "password": "not the password"})
    lock(app, volunteer)
    locked = login(client, volunteer)
    assert locked.status_code == wrong.status_code == unknown.status_code == 401
    assert locked.get_data() == wrong.get_data() == unknown.get_data()
    assert "Retry-After" not in locked.headers


def test_a_stranger_cannot_lock_a_volunteer_out_with_five_tries(client, app, volunteer):
    for _ in range(5):
        assert login(client, volunteer, password="guess-guess", address="203.0.113.5").status_code == 401
    assert login(client, volunteer, password="guess-guess", address="203.0.113.5").status_code == 429
    assert login(client, volunteer, address="198.51.100.7").status_code == 200


def test_failures_for_one_account_from_many_addresses_hit_the_account_ceiling(client, app, volunteer, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES", "6 per 15 minutes")
    for n in range(6):
        assert login(client, volunteer, password="guess-guess", address=f"203.0.113.{n}").status_code == 401
    assert login(client, volunteer, address="198.51.100.7").status_code == 429
