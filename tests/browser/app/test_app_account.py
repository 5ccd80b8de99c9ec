"""The volunteer's account in the app: a generated password changed on first use (the server's messages in the
app's language), an expired access token refreshed without a word (also when the refresh's answer was lost), and
a session that ended sends the volunteer to sign in again with the outbox kept."""
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.app.support import (
    SEND_TIMEOUT_MS,
    file_inspection,
    open_tab,
    server_counts,
    sign_in,
)
from tests.factories import sign_in as api_sign_in
from tests.field_support import create_site
from tests.support import Account, next_phone
from volunteer_api.extensions import db
from volunteer_api.people.models import User
from volunteer_api.people.services import create_volunteer

OWN_PASSWORD = "Жаңа тау бұлағы 2026"


def must_change_password(app, user_id) -> bool:
    with app.app_context():
        flag = db.session.scalar(select(User.must_change_password).where(User.id == int(user_id)))
        db.session.rollback()
    return flag


def change_the_password(page, current: str, new: str) -> None:
    page.fill("#current_password", current)
    page.fill("#new_password", new)
    page.locator("#password-form button[type=submit]").click()


def test_a_generated_password_is_changed_on_first_use_with_the_servers_messages_in_kazakh(
        app, client, admin, page, axe_check):
    site = create_site(client, admin)
    with app.app_context():
        user, generated = create_volunteer(full_name="Айгерим Сапарова", phone=next_phone(), email=None,
                                           district="taraz", password=None)
        volunteer = Account(id=str(user.id), role="volunteer", login=user.phone, password=generated, headers={},
                            refresh_token="")
    sign_in(page, volunteer, password=generated, expect_sites=False)
    expect(page.locator("#password-form")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()  # nothing else until the password is the volunteer's own
    page.select_option("#language", "kk")
    expect(page.locator("h1")).to_have_text("Құпиясөзді ауыстырыңыз")
    axe_check(page)

    change_the_password(page, generated, "qwertyuiop")
    expect(page.locator("#new_password-error")).to_have_text("Бұл құпиясөз ең жиі қолданылатындардың бірі; басқасын таңдаңыз.")
    expect(page.locator("#new_password")).to_have_attribute("aria-invalid", "true")
    change_the_password(page, "not the generated one", OWN_PASSWORD)
    expect(page.locator("#current_password-error")).to_have_text("Ағымдағы құпиясөз қате.")
    expect(page.locator("#new_password-error")).to_be_hidden()
    axe_check(page)
    assert must_change_password(app, user.id)

    change_the_password(page, generated, OWN_PASSWORD)
    expect(page.locator(".card h2").first).to_have_text(site["name"])
    expect(page.locator("#nav")).to_be_visible()
    assert not must_change_password(app, user.id)
    api_sign_in(client, volunteer.login, OWN_PASSWORD)


def test_an_expired_access_token_is_refreshed_unseen_and_a_lost_refresh_answer_is_retried_for_the_same_pair(
        app, client, admin, volunteer, context, page, request_log, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=2))
    create_site(client, admin)
    sign_in(page, volunteer)
    context.set_offline(True)
    file_inspection(page)
    page.wait_for_timeout(2_100)  # the access token the app holds has expired

    answers = []

    def lose_the_first_answer(route):
        """The server rotates the refresh token, but the first answer never reaches the phone."""
        response = route.fetch()
        answers.append(response.json())
        if len(answers) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    context.route("**/api/v1/auth/refresh", lose_the_first_answer)
    context.set_offline(False)
    expect(page.locator("#outbox-list li").first).to_have_attribute("data-state", "submitted", timeout=SEND_TIMEOUT_MS)
    assert server_counts(app, volunteer) == (1, 1)
    assert len(answers) >= 2
    first, retried = answers[0], answers[1]
    assert (retried["access_token"], retried["refresh_token"]) == (first["access_token"], first["refresh_token"])
    expect(page.locator("#login")).to_have_count(0)  # never asked to sign in
    assert request_log.foreign() == []


def test_a_session_ended_elsewhere_asks_to_sign_in_again_and_the_outbox_waits_for_it(
        app, client, admin, volunteer, context, page, axe_check):
    create_site(client, admin)
    sign_in(page, volunteer)
    context.set_offline(True)
    file_inspection(page)
    # The volunteer forgot the password at the office: an administrator resets it, which ends every session.
    reset = client.post(f"/api/v1/volunteers/{volunteer.id}/reset-password", headers=admin.headers)
    assert reset.status_code == 200, reset.get_json()
    generated = reset.get_json()["initial_password"]

    context.set_offline(False)
    expect(page.locator("#login")).to_be_visible(timeout=SEND_TIMEOUT_MS)
    expect(page.locator("main .alert")).to_contain_text("Сеанс завершён")
    axe_check(page)
    assert server_counts(app, volunteer) == (0, 0)

    page.fill("#login", volunteer.login)
    page.fill("#password", generated)
    page.locator("form button[type=submit]").click()
    change_the_password(page, generated, OWN_PASSWORD)
    open_tab(page, "outbox")
    expect(page.locator("#outbox-list li").first).to_have_attribute("data-state", "submitted", timeout=SEND_TIMEOUT_MS)
    assert server_counts(app, volunteer) == (1, 1)
