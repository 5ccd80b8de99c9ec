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
