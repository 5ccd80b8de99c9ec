def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_districts_are_loaded_by_the_first_migration(client):
    body = client.get("/api/v1/districts", headers={"Accept-Language": "en"}).get_json()
    codes = {item["code"] for item in body["items"]}
    assert len(codes) == 11 and {"taraz", "merke", "ryskulov"} <= codes
    taraz = next(item for item in body["items"] if item["code"] == "taraz")
    assert taraz["name"] == "Taraz city" and taraz["region"] == "zhambyl"


def test_admin_registers_a_volunteer_who_can_sign_in(client, admin):
    response = client.post("/api/v1/volunteers", headers=admin.headers,
                           json={"full_name": "Айгуль Нурланова", "phone": "8 701 555 12 34", "district": "merke"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["phone"] == "+77015551234" and body["initial_password"]
    login = client.post("/api/v1/auth/login", json={"login": "+7 701 555 12 34", "password": body["initial_password"]})
    assert login.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.get_json()['access_token']}"})
    assert me.get_json()["id"] == body["id"]
