"""Make the OpenAPI document honest about errors: every status an operation can answer, as problem+json.

The views document their own outcomes (201/200 of idempotent POSTs, 409, 413, 415...). The statuses
that follow from the plumbing rather than from a view are added here, once, so a new endpoint gets
them too: 404 for a path id, 400 for a body that is not JSON, 413 for a body over MAX_CONTENT_LENGTH
(MAX_JSON_BODY_BYTES for JSON), 422 for invalid input, 429 for the per-user write limit. Every error response is
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
        statuses |= {413, 422}
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
