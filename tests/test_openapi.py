"""The OpenAPI document: valid, one camelCase operationId per operation, arrays in the query both ways,
and a client generated from it (openapi-python-client) that runs a short story without hand edits."""
import importlib
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from tests.factories import PASSWORD
from tests.field_support import TARAZ
from volunteer_api.timestamps import utcnow

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_validates(document):
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_operation_has_a_unique_camel_case_verb_noun_operation_id(document):
    ids = [(f"{method.upper()} {path}", op.get("operationId")) for path, method, op in operations(document)]
    assert [name for name, op_id in ids if not op_id] == []
    assert [op_id for _, op_id in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", op_id)] == []
    seen = [op_id for _, op_id in ids]
    assert sorted({op_id for op_id in seen if seen.count(op_id) > 1}) == []
    assert dict(ids)[f"POST {API}/inspections"] == "fileInspection"


def test_every_array_in_a_query_is_an_exploded_form_parameter(document):
    arrays = [(path, parameter) for path, _, op in operations(document) for parameter in op.get("parameters", [])
              if parameter["in"] == "query" and parameter["schema"].get("type") == "array"]
    assert arrays, "the savings totals' `by` at least"
    for path, parameter in arrays:
        assert (parameter.get("style", "form"), parameter.get("explode", True)) == ("form", True), path
        assert parameter["schema"].get("default", []) == []


@pytest.mark.parametrize("query", ["by=site,month", "by=site&by=month", "by=month&by=site", "by=site,month&by=month"])
def test_an_array_query_parameter_takes_both_spellings(client, admin, query):
    body = client.get(f"{API}/savings/totals?{query}", headers=admin.headers).get_json()
    assert "by_site" in body and "by_month" in body and "by_category" not in body


@pytest.mark.parametrize("query", ["by=", "by=site,", "by=site&by=", "by=galaxy", "by=site,galaxy", "by=site&by=galaxy"])
def test_an_empty_or_unknown_array_value_is_a_422_naming_the_parameter(client, admin, query):
    response = client.get(f"{API}/savings/totals?{query}", headers=admin.headers)
    assert response.status_code == 422
    assert all(name.split(".")[0] == "by" for name in response.get_json()["errors"])


@pytest.fixture(scope="module")
def generated_client(document, tmp_path_factory):
    """The package openapi-python-client generates from our document, imported from a temporary folder."""
    import json

    folder = tmp_path_factory.mktemp("generated")
    (folder / "openapi.json").write_text(json.dumps(document))
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: the code as generated
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json", "--meta", "none",
         "--output-path", "volunteer_monitor_client", "--config", "config.yaml"],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("volunteer_monitor_client")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.startswith("volunteer_monitor_client")]:
            del sys.modules[name]


def test_a_generated_client_signs_in_registers_a_site_files_an_inspection_and_lists_it(
        app, generated_client, admin, volunteer):
    from volunteer_monitor_client import AuthenticatedClient, Client
    from volunteer_monitor_client.api.auth import sign_in
    from volunteer_monitor_client.api.inspections import file_inspection, list_inspections
    from volunteer_monitor_client.api.sites import register_site
    from volunteer_monitor_client.models import Checklist, DeviceLocation, InspectionCreate, Login, Point, SiteCreate
    from volunteer_monitor_client.models.inspection_create_severity import InspectionCreateSeverity
    from volunteer_monitor_client.models.site_create_kind import SiteCreateKind

    def connect(**kwargs):
        transport = httpx.WSGITransport(app=app)
        return kwargs.pop("cls", Client)(base_url="http://testserver", httpx_args={"transport": transport}, **kwargs)

    def signed_in(login):
        tokens = sign_in.sync(client=connect(), body=Login(login=login, password=PASSWORD))
        assert tokens.access_token, tokens
        return connect(cls=AuthenticatedClient, token=tokens.access_token)

    as_admin = signed_in(admin.login)
    site = register_site.sync(client=as_admin, body=SiteCreate(
        name="School No. 12", kind=SiteCreateKind.SCHOOL, district="taraz", address="Tole bi 12",
        location=Point(lat=TARAZ[0], lon=TARAZ[1]), budget_kzt="1250000000.00"))
    assert site.id and site.name == "School No. 12"

    as_volunteer = signed_in(volunteer.login)
    filed = file_inspection.sync_detailed(client=as_volunteer, body=InspectionCreate(
        client_uuid=uuid.uuid4(), site_id=site.id, captured_at=utcnow() - timedelta(minutes=3),
        location=DeviceLocation(lat=TARAZ[0], lon=TARAZ[1], accuracy_m=8.0),
        checklist=Checklist(work_in_progress=True, workers_present=True, safety_violations=False,
                            quality_issues=False, schedule_delay=False, docs_on_site=True, progress_percent=40),
        severity=InspectionCreateSeverity.NONE))
    assert filed.status_code == 201 and filed.parsed.site_id == site.id and filed.parsed.flagged is False

    listed = list_inspections.sync(client=as_volunteer)
    assert [item.id for item in listed.items] == [filed.parsed.id]


def test_every_example_body_is_one_the_api_accepts_and_the_document_shows_it(app, document):
    from marshmallow import Schema

    from volunteer_api.openapi import EXAMPLES

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    schemas = {cls.__name__.removesuffix("Schema"): cls for cls in subclasses(Schema)
               if cls.__module__.startswith("volunteer_api.")}
    with app.test_request_context():
        for name, example in EXAMPLES.items():
            schemas[name]().load(example())  # raises if the example breaks a rule of its schema
    components = document["components"]["schemas"]
    assert components["SiteCreate"]["example"]["location"] == {"lat": 42.9001, "lon": 71.3667}
    assert components["InspectionCreate"]["example"]["site_id"] == "1"
    assert set(EXAMPLES) <= set(components)


def test_the_example_bodies_work_as_shown_once_the_first_site_exists(client, admin, volunteer):
    from volunteer_api.openapi import EXAMPLES

    site = client.post(f"{API}/sites", headers=admin.headers, json=EXAMPLES["SiteCreate"]())
    assert site.status_code == 201
    inspection = EXAMPLES["InspectionCreate"]()
    inspection["site_id"] = site.get_json()["id"]  # "1" in a fresh database
    assert client.post(f"{API}/inspections", headers=volunteer.headers, json=inspection).status_code == 201
    saving = {**EXAMPLES["SavingCreate"](), "site_id": site.get_json()["id"]}
    assert client.post(f"{API}/savings", headers=volunteer.headers, json=saving).status_code == 201
