"""The console in a real browser: signing in and out, the language switch, no request to another host."""
import re

from playwright.sync_api import expect

from tests.factories import PASSWORD


def sign_in(page, login: str, password: str = PASSWORD) -> None:
    page.goto("/console/")
    page.get_by_label(re.compile("Телефон или e-mail|Телефон немесе e-mail|Phone or e-mail")).fill(login)
    page.get_by_label(re.compile("^(Пароль|Құпиясөз|Password)$")).fill(password)
    page.locator("form.stack button[type=submit]").click()


def test_an_inspector_signs_in_and_out_and_the_page_asks_no_other_host(page, inspector, axe_check, request_log):
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    axe_check(page)
    sign_in(page, inspector.login)
    expect(page.locator("h1")).to_have_text("Очередь на рассмотрение")
    axe_check(page)
    page.get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    assert request_log.urls, "the log recorded the page's requests"
    assert request_log.foreign() == []


def test_a_wrong_password_is_told_in_the_page_language(page, inspector, axe_check):
    sign_in(page, inspector.login, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль.")
    axe_check(page)


def test_the_language_switch_is_remembered(page, inspector, axe_check):
    page.goto("/console/sign-in")
    page.get_by_role("button", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    axe_check(page)
    sign_in(page, inspector.login)
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    axe_check(page)
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
