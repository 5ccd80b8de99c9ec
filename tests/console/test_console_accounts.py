"""Accounts in the console: password resets with their slip, the password page (forced and chosen),
deactivation, the volunteers' search by name in any case, and the import's messages in the page's language."""
import io
import re
from html import unescape

from tests.console.conftest import page_text
from tests.support import next_phone

NEW_PASSWORD = "seven quiet lanterns"


def slip_password(html: str) -> str:
    return unescape(re.search(r'<dd class="secret">([^<]+)</dd>', html).group(1))


def test_an_admin_resets_a_volunteers_password_and_sees_it_once_on_a_slip(client, console, admin, volunteer):
    browser = console(admin)
    response = browser.post(f"/console/volunteers/{volunteer.id}/password")
    html = page_text(response)
    assert response.status_code == 200 and html.count('class="slip"') == 1 and "Новый одноразовый пароль" in html
    password = slip_password(html)
    assert client.get("/api/v1/me", headers=volunteer.headers).status_code == 401  # the old session ended
    signed_in = client.post("/api/v1/auth/login", json={"login": volunteer.login, "password": password})
    assert signed_in.status_code == 200 and signed_in.get_json()["user"]["must_change_password"] is True
    assert password not in page_text(browser.get("/console/volunteers"))  # shown once, never again


def test_a_reset_inspector_must_set_their_own_password_before_the_console_opens(app, console, admin, inspector,
                                                                                monkeypatch):
    monkeypatch.setitem(app.config, "FORCE_PASSWORD_CHANGE", True)
    html = page_text(console(admin).post(f"/console/inspectors/{inspector.id}/password"))
    assert "Консоль" in html or "консоль" in html
    password = slip_password(html)
    browser = console(None)
    browser.sign_in(inspector.login, password)
    response = browser.get("/console/?severity=high")
    assert response.status_code == 302 and "/console/password?next=" in response.headers["Location"]
    html = page_text(browser.get(response.headers["Location"]))
    assert "Задайте свой пароль" in html and 'aria-label="Разделы"' not in html  # no way around it
    weak = browser.post("/console/password?next=/console/?severity%3Dhigh",
                        {"current_password": password, "new_password": "password12", "repeat_password": "password12"})
    assert weak.status_code == 422 and 'id="f-new_password-error"' in page_text(weak)
    differ = browser.post("/console/password", {"current_password": password, "new_password": NEW_PASSWORD,
                                                "repeat_password": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and "Два новых пароля не совпадают." in page_text(differ)
    done = browser.post("/console/password?next=/console/?severity%3Dhigh",
                        {"current_password": password, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/console/?severity=high")
    assert browser.get("/console/").status_code == 200


def test_any_console_user_changes_their_own_password_and_a_wrong_current_one_is_explained(client, console, inspector):
    browser = console(inspector)
    html = page_text(browser.get("/console/"))
    assert 'href="/console/password"' in html
    wrong = browser.post("/console/password", {"current_password": "not it at all", "new_password": NEW_PASSWORD,
                                               "repeat_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Текущий пароль неверен" in page_text(wrong)
    done = browser.post("/console/password", {"current_password": inspector.password, "new_password": NEW_PASSWORD,
                                              "repeat_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert "Пароль изменён" in page_text(browser.get(done.headers["Location"]))
    assert client.get("/api/v1/me", headers=inspector.headers).status_code == 401  # other sessions ended
    assert client.post("/api/v1/auth/login", json={"login": inspector.login, "password": NEW_PASSWORD}).status_code == 200


def test_an_inspector_is_deactivated_and_reactivated_and_their_session_ends_at_once(client, console, admin, inspector):
    watcher = console(inspector)
    browser = console(admin)
    assert browser.post(f"/console/inspectors/{inspector.id}", {"active": "0"}).status_code == 303
    assert "Деактивирован" in page_text(browser.get("/console/inspectors"))
    assert watcher.get("/console/").status_code == 302
    assert client.post("/api/v1/auth/login", json={"login": inspector.login, "password": inspector.password}).status_code == 401
    assert browser.post(f"/console/inspectors/{inspector.id}", {"active": "1"}).status_code == 303
    assert client.post("/api/v1/auth/login", json={"login": inspector.login, "password": inspector.password}).status_code == 200


def test_names_are_found_in_any_case_on_both_backends(client, console, admin):
    for name in ("Айгерим Сапарова", "ӘСЕЛ ҚҰРМАНҒАЛИҚЫЗЫ", "Пётр Ёлкин"):
        client.post("/api/v1/volunteers", headers=admin.headers,
                    json={"full_name": name, "phone": next_phone(), "district": "taraz"})
    browser = console(admin)
    assert "Айгерим Сапарова" in page_text(browser.get("/console/volunteers?q=айгерим"))
    assert "ӘСЕЛ ҚҰРМАНҒАЛИҚЫЗЫ" in page_text(browser.get("/console/volunteers?q=құрманғали"))
    assert "Пётр Ёлкин" in page_text(browser.get("/console/volunteers?q=елкин"))
    assert "Айгерим" not in page_text(browser.get("/console/volunteers?q=ким%25"))  # LIKE's wildcards are text
    html = page_text(browser.get("/console/volunteers?q=САПАРОВА"))
    assert "Айгерим Сапарова" in html and "Ёлкин" not in html


def test_a_renamed_volunteer_is_found_by_the_new_name(client, console, admin, volunteer):
    client.patch(f"/api/v1/volunteers/{volunteer.id}", headers=admin.headers, json={"full_name": "Динара Омарова"})
    html = page_text(console(admin).get("/console/volunteers?q=ДИНАРА"))
    assert "Динара Омарова" in html


def test_the_imports_row_errors_are_in_the_pages_language(console, admin):
    browser = console(admin)
    browser.post("/console/language", {"language": "kk", "next": "/console/volunteers/import"})
    taken = next_phone()
    browser.post("/console/volunteers", {"full_name": "Бар Адам", "phone": taken, "district": "taraz"})
    twice = next_phone()
    content = (f"full_name,phone,email,district\n,{next_phone()},not-an-email,taraz\n"
               f"Болат Ким,{taken},,taraz\nДана Ким,{twice},,taraz\nЕрлан Ким,{twice},,nowhere\n").encode("utf-8")
    response = browser.client.post("/console/volunteers/import", content_type="multipart/form-data", data={
        "csrf_token": browser.csrf, "file": (io.BytesIO(content), "people.csv")})
    html = page_text(response)
    assert response.status_code == 422
    assert "E-mail мекенжайы қате." in html and "Бұрын тіркелген." in html
    assert "Ұзындығы 1 мен 200 аралығында болуы керек." in html
    assert "Телефон 4-жолдағымен бірдей." in html and "Белгісіз аудан: nowhere." in html and "row 2" not in html
    assert "Not a valid email address." not in html and "Length must be" not in html


def test_the_sites_imports_row_errors_are_in_the_pages_language(console, admin):
    browser = console(admin)
    browser.post("/console/language", {"language": "kk", "next": "/console/sites"})
    content = ("name,kind,district,address,lat,lon,geofence_radius_m,budget_kzt,contractor,contract_number,"
               "planned_completion,status\nМектеп,castle,taraz,,42.9,71.36,300,көп,,,,\n").encode("utf-8")
    response = browser.client.post("/console/sites/import", content_type="multipart/form-data", data={
        "csrf_token": browser.csrf, "file": (io.BytesIO(content), "sites.csv")})
    html = page_text(response)
    assert response.status_code == 422 and "Рұқсат етілген мәндер:" in html
    assert "Must be one of" not in html
