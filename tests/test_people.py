"""Registering volunteers and inspectors, one by one and from a CSV."""
import io

from tests.support import next_phone

HEADER = "full_name,phone,email,district\n"


def register(client, admin, **fields):
    body = {"full_name": "Айгуль Нурланова", "phone": next_phone(), "district": "taraz", **fields}
    return client.post("/api/v1/volunteers", headers=admin.headers, json=body)


def upload(client, admin, text: str, *, dry_run: bool = False, bom: bool = False):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    url = "/api/v1/volunteers/import" + ("?dry_run=true" if dry_run else "")
    return client.post(url, headers=admin.headers, data={"file": (io.BytesIO(data), "volunteers.csv")},
                       content_type="multipart/form-data")


def count_volunteers(client, admin) -> int:
    return len(client.get("/api/v1/volunteers?limit=200", headers=admin.headers).get_json()["items"])


def test_a_registered_volunteer_has_a_badge_and_the_contract_fields(client, admin):
    response = register(client, admin, email="Aigul@Mail.KZ", password="a long enough password")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "badge_number", "full_name", "phone", "email", "district", "active", "created_at"}
    assert body["email"] == "aigul@mail.kz" and body["active"] is True and body["district"] == "taraz"
    assert body["badge_number"].startswith("ZHB-") and body["created_at"].endswith("Z")
    assert isinstance(body["id"], str)


def test_a_taken_phone_or_email_is_a_409(client, admin):
    phone = next_phone()
    assert register(client, admin, phone=phone, email="a@b.kz").status_code == 201
    assert register(client, admin, phone=phone).status_code == 409
    assert register(client, admin, email="A@B.kz").status_code == 409


def test_invalid_volunteers_are_422_with_field_errors_and_nothing_is_created(client, admin):
    for body, field in [
        ({"phone": "+79161234567"}, "phone"),       # a Russian number
        ({"phone": "12345"}, "phone"),
        ({"district": "almaty"}, "district"),
        ({"full_name": ""}, "full_name"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"role": "admin"}, "role"),                  # mass assignment
        ({"active": False}, "active"),
    ]:
        response = register(client, admin, **body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    assert count_volunteers(client, admin) == 0


def test_volunteers_are_listed_newest_first_by_keyset_pages(client, admin):
    ids = [register(client, admin, district="merke" if n % 2 else "taraz").get_json()["id"] for n in range(7)]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/volunteers?limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=admin.headers).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    merke = client.get("/api/v1/volunteers?district=merke", headers=admin.headers).get_json()["items"]
    assert {item["district"] for item in merke} == {"merke"} and len(merke) == 3


def test_a_bad_cursor_or_limit_is_a_422(client, admin):
    assert client.get("/api/v1/volunteers?cursor=garbage", headers=admin.headers).status_code == 422
    assert client.get("/api/v1/volunteers?limit=201", headers=admin.headers).status_code == 422
    assert client.get("/api/v1/volunteers?limit=0", headers=admin.headers).status_code == 422


def test_the_active_filter_and_patch(client, admin):
    first = register(client, admin).get_json()
    register(client, admin)
    response = client.patch(f"/api/v1/volunteers/{first['id']}", headers=admin.headers,
                            json={"active": False, "district": "shu", "full_name": "Айгуль Н."})
    assert response.status_code == 200
    assert response.get_json()["district"] == "shu" and response.get_json()["full_name"] == "Айгуль Н."
    inactive = client.get("/api/v1/volunteers?active=false", headers=admin.headers).get_json()["items"]
    assert [item["id"] for item in inactive] == [first["id"]]


def test_patch_rejects_unknown_and_protected_fields(client, admin):
    volunteer = register(client, admin).get_json()
    for body in ({"phone": "+77011111111"}, {"role": "admin"}, {"id": "5"}, {"badge_number": "X"}, {"district": "nowhere"}):
        assert client.patch(f"/api/v1/volunteers/{volunteer['id']}", headers=admin.headers, json=body).status_code == 422


def test_an_unknown_volunteer_is_a_404(client, admin, inspector):
    assert client.get("/api/v1/volunteers/999999", headers=admin.headers).status_code == 404
    assert client.get("/api/v1/volunteers/not-an-id", headers=admin.headers).status_code == 404
    # An inspector's id is not a volunteer's.
    assert client.get(f"/api/v1/volunteers/{inspector.id}", headers=admin.headers).status_code == 404


def test_only_admins_manage_people(client, volunteer, inspector):
    for account in (volunteer, inspector):
        assert client.get("/api/v1/volunteers", headers=account.headers).status_code == 403
        assert client.post("/api/v1/volunteers", headers=account.headers, json={}).status_code == 403
        assert client.post("/api/v1/inspectors", headers=account.headers, json={}).status_code == 403


def test_an_inspector_is_registered_for_districts_and_can_sign_in(client, admin):
    response = client.post("/api/v1/inspectors", headers=admin.headers, json={
        "full_name": "Ерлан Сапаров", "email": "erlan@agency.kz", "districts": ["taraz", "merke"],
        "password": "inspector password 1"})
    assert response.status_code == 201
    assert response.get_json()["districts"] == ["merke", "taraz"]
    login = client.post("/api/v1/auth/login", json={"login": "erlan@agency.kz", "password": "inspector password 1"})
    assert login.get_json()["user"]["role"] == "inspector"


def test_an_inspector_needs_a_login_known_districts_and_no_duplicates(client, admin):
    base = {"full_name": "Ерлан", "password": "inspector password 1"}
    assert client.post("/api/v1/inspectors", headers=admin.headers, json={**base, "districts": ["taraz"]}).status_code == 422
    bad = client.post("/api/v1/inspectors", headers=admin.headers, json={**base, "email": "e@a.kz", "districts": ["mars"]})
    assert bad.status_code == 422 and "districts" in bad.get_json()["errors"]
    twice = client.post("/api/v1/inspectors", headers=admin.headers, json={**base, "email": "e@a.kz", "districts": ["taraz", "taraz"]})
    assert twice.status_code == 422
    empty = client.post("/api/v1/inspectors", headers=admin.headers, json={**base, "email": "e@a.kz", "districts": []})
    assert empty.status_code == 422


def test_csv_import_creates_everyone_with_initial_passwords(client, admin):
    rows = "".join(f"Волонтёр {n},8 701 200 {n:02d} {n:02d},,{'taraz' if n % 2 else 'merke'}\n" for n in range(10))
    response = upload(client, admin, HEADER + rows, bom=True)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created"] == 10 and len(body["volunteers"]) == 10
    first = body["volunteers"][0]
    assert first["phone"] == "+77012000000" and first["email"] is None and first["initial_password"]
    login = client.post("/api/v1/auth/login", json={"login": first["phone"], "password": first["initial_password"]})
    assert login.status_code == 200


def test_csv_import_is_all_or_nothing_with_errors_by_line(client, admin):
    taken = register(client, admin).get_json()["phone"]
    text = HEADER + (
        "Good One,+77013000001,good@one.kz,taraz\n"
        "Bad Phone,12345,,taraz\n"
        "Bad District,+77013000003,,almaty\n"
        f"Taken Phone,{taken},,taraz\n"
        "Twin,+77013000001,,shu\n"
    )
    response = upload(client, admin, text)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"row 3", "row 4", "row 5", "row 6"}
    assert "phone" in errors["row 3"] and "district" in errors["row 4"]
    assert "phone" in errors["row 5"] and "phone" in errors["row 6"]
    assert count_volunteers(client, admin) == 1


def test_csv_dry_run_is_a_200_preview_of_each_row_as_it_would_be_created_without_passwords(client, admin):
    register(client, admin, phone="+77014000009")
    text = HEADER + ("Dry Run,8 701 400 00 01,Dry@Run.KZ,taraz\n"
                     "Taken Phone,+77014000009,,taraz\n"
                     "No Such District,+77014000002,,atlantis\n"
                     ",not a phone,,taraz\n")
    response = upload(client, admin, text, dry_run=True)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["dry_run"], body["total"], body["valid"], body["invalid"]) == (True, 4, 1, 3)
    first, taken, nowhere, broken = body["rows"]
    assert first == {"row": 2, "values": {"full_name": "Dry Run", "phone": "+77014000001", "email": "dry@run.kz",
                                          "district": "taraz"}, "errors": {}}
    assert taken["row"] == 3 and set(taken["errors"]) == {"phone"}
    assert nowhere["row"] == 4 and set(nowhere["errors"]) == {"district"}
    assert broken["row"] == 5 and broken["values"]["phone"] == "not a phone"
    assert set(broken["errors"]) == {"full_name", "phone"}
    assert "password" not in response.get_data(as_text=True)
    assert count_volunteers(client, admin) == 1


def test_a_csv_from_excel_in_a_russian_locale_with_semicolons_imports(client, admin):
    text = "full_name;phone;email;district\r\nАйдана Сейтова;+77014100001;;taraz\r\nБолат Ахметов;+77014100002;b@mail.kz;merke\r\n"
    response = upload(client, admin, text, bom=True)
    assert response.status_code == 201, response.get_json()
    assert [v["full_name"] for v in response.get_json()["volunteers"]] == ["Айдана Сейтова", "Болат Ахметов"]


def test_a_csv_with_another_separator_names_the_separators_it_understands(client, admin):
    response = upload(client, admin, "full_name|phone|email|district\nA|+77014200001||taraz\n")
    assert response.status_code == 422
    assert "full_name,phone,email,district" in response.get_json()["errors"]["file"][0]
    assert "точкой с запятой" in response.get_json()["errors"]["file"][0]  # the default language is Russian


def test_csv_with_a_wrong_header_or_no_rows_or_no_file_is_a_422(client, admin):
    assert upload(client, admin, "name,phone\nA,+77015000001\n").status_code == 422
    assert upload(client, admin, HEADER).status_code == 422
    missing = client.post("/api/v1/volunteers/import", headers=admin.headers, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    latin1 = client.post("/api/v1/volunteers/import", headers=admin.headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO((HEADER + "Сабина,+77015000002,,taraz\n").encode("cp1251")), "v.csv")})
    assert latin1.status_code == 422


def test_the_zhambyl_register_of_144_volunteers_imports_in_one_go(client, admin):
    districts = ["taraz", "baizak", "zhambyl", "zhualy", "kordai", "merke", "moiynkum", "sarysu", "talas", "shu", "ryskulov"]
    rows = "".join(f"Волонтёр №{n},+7702{n:07d},v{n}@example.kz,{districts[n % 11]}\n" for n in range(144))
    response = upload(client, admin, HEADER + rows)
    assert response.status_code == 201
    assert response.get_json()["created"] == 144
    badges = {v["badge_number"] for v in response.get_json()["volunteers"]}
    assert len(badges) == 144


def test_admins_list_and_change_inspectors_and_deactivation_ends_their_sessions(client, admin, make_inspector):
    inspector = make_inspector(["taraz"])
    make_inspector(["merke"])
    listed = client.get("/api/v1/inspectors?district=taraz", headers=admin.headers).get_json()["items"]
    assert [item["id"] for item in listed] == [inspector.id]
    changed = client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers, json={"districts": ["shu", "talas"]})
    assert changed.status_code == 200 and changed.get_json()["districts"] == ["shu", "talas"]
    assert client.get("/api/v1/inspectors?district=taraz", headers=admin.headers).get_json()["items"] == []
    client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers, json={"active": False})
    assert client.get("/api/v1/me", headers=inspector.headers).status_code == 401
    assert client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers, json={"districts": ["mars"]}).status_code == 422


def test_create_admin_command_makes_an_admin_who_can_sign_in(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--login", "boss@agency.kz", "--password", "a strong password", "--name", "Бас"])
    assert result.exit_code == 0, result.output
    login = client.post("/api/v1/auth/login", json={"login": "boss@agency.kz", "password": "a strong password"})
    assert login.get_json()["user"]["role"] == "admin"
    again = runner.invoke(args=["create-admin", "--login", "boss@agency.kz", "--password", "a strong password", "--name", "Бас"])
    assert again.exit_code != 0
    short = runner.invoke(args=["create-admin", "--login", "x@agency.kz", "--password", "short", "--name", "X"])
    assert short.exit_code != 0


def test_an_inspectors_districts_can_be_replaced_by_an_overlapping_set(client, admin, make_inspector):
    inspector = make_inspector(["taraz", "merke"])
    changed = client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers, json={"districts": ["merke", "shu"]})
    assert changed.status_code == 200 and changed.get_json()["districts"] == ["merke", "shu"]


def test_ids_that_cannot_be_ours_are_404_not_errors(client, admin):
    for odd in ("99999999999999999999999", "9223372036854775808", "0", "-1", "²", "١٢", "1e3"):
        assert client.get(f"/api/v1/volunteers/{odd}", headers=admin.headers).status_code == 404, odd


def test_an_inspector_cannot_be_left_without_a_login(client, admin, make_inspector):
    inspector = make_inspector(["taraz"])  # signs in by e-mail only
    response = client.patch(f"/api/v1/inspectors/{inspector.id}", headers=admin.headers, json={"email": None})
    assert response.status_code == 422
    assert client.post("/api/v1/auth/login", json={"login": inspector.login, "password": inspector.password}).status_code == 200
