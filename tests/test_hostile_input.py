"""Input crafted to break the parsers or the SQL gets a 4xx problem document, never a 500."""
import base64
import json

import pytest

LISTS = ["/api/v1/sites", "/api/v1/inspections", "/api/v1/savings", "/api/v1/volunteers", "/api/v1/alerts",
         "/api/v1/audit", "/api/v1/jobs"]


def forged(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("values", [["abc"], [10**30], [-1], [True], [1.5], [1, 2], [], {"a": 1}, [[1]]])
def test_a_forged_cursor_is_a_422_on_every_list(client, admin, values):
    for path in LISTS:
        response = client.get(path, headers=admin.headers, query_string={"cursor": forged(values)})
        assert response.status_code == 422, (path, values, response.status_code)
        assert "cursor" in response.get_json()["errors"]


def test_a_forged_near_me_cursor_is_a_422(client, admin):
    for values in (["a", "b"], [10**30, 1], [1]):
        response = client.get("/api/v1/sites", headers=admin.headers,
                              query_string={"near": "42.9,71.37", "radius_m": 2000, "cursor": forged(values)})
        assert response.status_code == 422, values


def test_a_forged_sync_cursor_is_a_422(client, volunteer):
    for values in (["a"], [10**30]):
        response = client.get("/api/v1/sync", headers=volunteer.headers, query_string={"since": forged(values)})
        assert response.status_code == 422, values


@pytest.mark.parametrize("depth", [40, 500, 950, 5000])
def test_deeply_nested_json_is_refused_before_anything_reads_it(client, volunteer, depth):
    body = "[" * depth + "]" * depth
    for path, headers in (("/api/v1/auth/login", {}), ("/api/v1/inspections", volunteer.headers)):
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code in (400, 422), (path, depth, response.status_code)
        assert response.content_type == "application/problem+json"


def test_moderately_nested_json_still_reaches_validation(client):
    response = client.post("/api/v1/auth/login", json={"login": {"a": {"b": [1, [2, [3]]]}}, "password": "x"})
    assert response.status_code == 422 and "login" in response.get_json()["errors"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1999-12-31T23:59:59Z",
                                    "3000-01-01T00:00:00Z"])
def test_a_time_outside_the_years_served_is_a_422_not_an_overflow(client, admin, volunteer, make_site, moment):
    from tests.field_support import inspection_body

    filed = client.post("/api/v1/inspections", headers=volunteer.headers,
                        json=inspection_body(make_site(), captured_at=moment))
    assert filed.status_code == 422 and "captured_at" in filed.get_json()["errors"], filed.get_json()
    for name in ("from", "to"):
        listed = client.get("/api/v1/audit", headers=admin.headers, query_string={name: moment})
        assert listed.status_code == 422 and name in listed.get_json()["errors"], (name, listed.get_json())


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "3000-01-01"])
def test_an_export_or_a_site_date_outside_the_years_served_is_a_422(client, admin, day):
    from tests.field_support import site_body

    for export in ("csv", "xlsx"):
        for name in ("from", "to"):
            response = client.get(f"/api/v1/savings/export.{export}", headers=admin.headers, query_string={name: day})
            assert response.status_code == 422 and name in response.get_json()["errors"], (export, name)
    created = client.post("/api/v1/sites", headers=admin.headers, json=site_body(planned_completion=day))
    assert created.status_code == 422 and "planned_completion" in created.get_json()["errors"]


@pytest.mark.parametrize("path, header, row", [
    ("/api/v1/volunteers/import", "full_name,phone,email,district\n", "Айгуль\x00 Нурланова,+77015550199,,taraz\n"),
    ("/api/v1/sites/import",
     "name,kind,district,address,lat,lon,geofence_radius_m,budget_kzt,contractor,contract_number,planned_completion,status\n",
     "School,school,taraz,Abay\x00 5,42.91,71.37,,1000,,,,\n"),
])
def test_a_nul_in_a_csv_import_cell_is_a_422_naming_the_row_and_imports_nothing(client, admin, path, header, row):
    import io

    good = header.replace("\n", "").split(",")
    text = header + row + row.replace("\x00", "")
    response = client.post(path, headers=admin.headers, data={"file": (io.BytesIO(text.encode()), "import.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert set(errors) == {"row 2"} and set(errors["row 2"]) <= set(good), errors
    listing = "/api/v1/volunteers" if "volunteers" in path else "/api/v1/sites"
    assert client.get(listing, headers=admin.headers).get_json()["items"] == []
