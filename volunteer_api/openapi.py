"""Make the OpenAPI document honest about errors: every status an operation can answer, as problem+json.

The views document their own outcomes (201/200 of idempotent POSTs, 409, 413, 415...). The statuses
that follow from the plumbing rather than from a view are added here, once, so a new endpoint gets
them too: 404 for a path id, 400 for a body that is not JSON, 413 for a body over MAX_CONTENT_LENGTH
(MAX_JSON_BODY_BYTES for JSON), 415 for a body of a media type no endpoint takes (security.py checks every
body before the view), 422 for invalid input, 429 for the per-user write limit. Every error response is
`application/problem+json` with the Problem schema (errors.py renders all of them).
"""
from http import HTTPStatus

from apispec import BasePlugin

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
WRITE_METHODS = {"post", "put", "patch", "delete"}

DESCRIPTIONS = {
    400: "The body is not valid JSON",
    404: "No such object, or not yours to see",
    413: "The request body is too large",
    415: "The body's media type is not accepted here",
    422: "Invalid input; `errors` names the fields",
    429: "Too many requests; see Retry-After",
}


def _statuses_from_plumbing(path: str, method: str, operation: dict) -> set[int]:
    statuses: set[int] = set()
    body_types = set((operation.get("requestBody") or {}).get("content") or {})
    has_query = any(p.get("in") == "query" for p in operation.get("parameters") or [])
    if "{" in path:
        statuses.add(404)
    if body_types:
        statuses |= {413, 415, 422}
    if "application/json" in body_types:
        statuses.add(400)
    if has_query:
        statuses.add(422)
    if method in WRITE_METHODS and operation.get("security"):
        statuses.add(429)
    return statuses


class ProblemResponsesPlugin(BasePlugin):
    """An apispec plugin: runs for every operation the blueprints register."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            present = {str(code) for code in responses}
            for status in sorted(_statuses_from_plumbing(path or "", method, operation)):
                if str(status) not in present:
                    responses[str(status)] = {"description": DESCRIPTIONS[status]}
            for code, response in list(responses.items()):
                if not str(code).isdigit() or int(code) < 400:
                    continue
                if isinstance(response, str) or "$ref" in response:
                    # flask-smorest's shared responses describe its own error body, not ours.
                    response = responses[code] = {"description": DESCRIPTIONS.get(int(code), HTTPStatus(int(code)).phrase)}
                response["content"] = dict(PROBLEM_CONTENT)


# Taraz, the region's centre: the examples place everything there, so "Try it out" works as shown.
TARAZ = {"lat": 42.9001, "lon": 71.3667}


def _recently() -> str:
    """A capture time a few minutes before the document was built (filings older than 30 days are refused)."""
    from datetime import datetime, timedelta, timezone

    return (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


# Request bodies as a client would send them, by component name. A test loads each through its schema.
EXAMPLES = {
    "Login": lambda: {"login": "admin@example.kz", "password": "change-me-now-please"},
    "Point": lambda: dict(TARAZ),
    "DeviceLocation": lambda: {**TARAZ, "accuracy_m": 8.5, "mock": False},
    "SiteCreate": lambda: {
        "name": "Школа №12 на 600 мест", "kind": "school", "district": "taraz", "address": "Тараз, ул. Толе би, 12",
        "location": dict(TARAZ), "geofence_radius_m": 300, "budget_kzt": "1250000000.00",
        "contractor": "ТОО «Жамбыл Курылыс»", "contract_number": "ГЗ-2026/114", "planned_completion": "2027-09-01",
        "status": "under_construction"},
    "SiteUpdate": lambda: {"status": "completed", "contractor": "ТОО «Жамбыл Курылыс»"},
    "Checklist": lambda: {"work_in_progress": True, "workers_present": True, "safety_violations": False,
                          "quality_issues": False, "schedule_delay": False, "docs_on_site": True,
                          "progress_percent": 40},
    "InspectionCreate": lambda: {
        "client_uuid": "3f0c7b5e-8a51-4c1e-9d4e-2b7a6f1c9e01", "site_id": "1", "captured_at": _recently(),
        "location": {**TARAZ, "accuracy_m": 8.5, "mock": False}, "checklist": EXAMPLES["Checklist"](),
        "severity": "none", "notes": "Идёт кладка второго этажа, на площадке 14 рабочих."},
    "InspectionReview": lambda: {"decision": "confirmed", "comment": "Подтверждаю: леса без ограждения."},
    "SavingCreate": lambda: {
        "client_uuid": "9b2d4c6e-1f3a-4b5c-8d7e-6a9b0c1d2e3f", "site_id": "1", "amount_kzt": "18500000.00",
        "category": "contract_reduced", "description": "Смета на кровлю снижена после замечаний волонтёров.",
        "evidence_url": "https://example.kz/evidence/114"},
    "SavingReview": lambda: {"decision": "approved", "comment": "Подтверждено актом сверки."},
    "VolunteerCreate": lambda: {"full_name": "Айгерим Нурланова", "phone": "+77011234567",
                                "email": "aigerim@example.kz", "district": "taraz"},
    "VolunteerUpdate": lambda: {"district": "baizak"},
    "InspectorCreate": lambda: {"full_name": "Ерлан Садыков", "phone": "+77021234567", "email": "erlan@example.kz",
                                "districts": ["taraz", "baizak"], "password": "change-me-now-please",
                                "language": "kk"},
    "InspectorUpdate": lambda: {"districts": ["taraz"], "language": "ru"},
}


class ExamplesPlugin(BasePlugin):
    """An apispec plugin: gives the request bodies of EXAMPLES their example (Swagger UI's "Example Value")."""

    def schema_helper(self, name, definition, **kwargs):
        example = EXAMPLES.get(name)
        return {"example": example()} if example else None
