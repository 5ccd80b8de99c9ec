"""Problem documents for every error, messages by Accept-Language, the OpenAPI document and docs."""
import pytest


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_an_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/districts")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/auth/login", data='{"login": "x",', content_type="application/json")
    assert_problem(response, 400)


def test_a_wrong_media_type_is_a_415_problem(client):
    response = client.post("/api/v1/auth/login", data="login=x&password=y", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415)


def test_unknown_fields_are_a_422_problem_naming_them(client):
    response = client.post("/api/v1/auth/login", json={"login": "a@b.kz", "password": "x", "admin": True},
                           headers={"Accept-Language": "en"})
    body = assert_problem(response, 422)
    assert body["errors"] == {"admin": ["Unknown field."]}


def test_a_json_body_that_is_not_an_object_is_a_422(client):
    assert_problem(client.post("/api/v1/auth/login", json=["a", "b"]), 422)


def test_nested_field_errors_are_flattened_with_dots():
    from volunteer_api.errors import flatten_errors

    assert flatten_errors({"location": {"lat": ["Too big."]}, "x": ["Bad."]}) == {"location.lat": ["Too big."], "x": ["Bad."]}


def test_a_too_large_body_is_a_413_problem(client):
    response = client.post("/api/v1/auth/login", data=b"x" * (12 * 1024 * 1024), content_type="application/json")
    assert_problem(response, 413)


def test_an_unexpected_error_is_a_500_problem_without_internals(make_app):
    app = make_app({})

    @app.get("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM internals")

    from volunteer_api.auth.access import public

    public(boom)
    response = app.test_client().get("/boom")
    body = assert_problem(response, 500)
    assert "SELECT" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    assert body["detail"]


@pytest.mark.parametrize("language, title", [
    ("ru", "Не найдено"), ("kk", "Табылмады"), ("en", "Not found"), ("kk-KZ,kk;q=0.9", "Табылмады"),
    ("fr", "Не найдено"), (None, "Не найдено"),
])
def test_messages_follow_accept_language_with_russian_by_default(client, language, title):
    headers = {"Accept-Language": language} if language else {}
    assert client.get("/api/v1/nothing", headers=headers).get_json()["title"] == title


def test_the_openapi_document_lists_the_endpoints_with_bearer_security(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/volunteers" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]
    post = spec["paths"]["/api/v1/volunteers"]["post"]
    assert post["security"] == [{"bearerAuth": []}] and post["summary"]
    assert "default" not in post["responses"]


def test_the_interactive_docs_are_served_by_the_app_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_healthz_and_readyz(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] is True


def test_readyz_is_503_when_the_database_does_not_answer(make_app):
    app = make_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    assert_problem(app.test_client().get("/readyz"), 503)


def test_readyz_is_503_when_the_configured_broker_does_not_answer(make_app, service_env):
    app = make_app({"REDIS_URL": "redis://127.0.0.1:1/0"})
    body = assert_problem(app.test_client().get("/readyz"), 503)
    assert "broker" in body["detail"]
