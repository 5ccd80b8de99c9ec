"""Liveness, readiness and the self-hosted API docs."""
from flask import Blueprint, current_app, send_from_directory
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from ..auth.access import public
from ..errors import problem
from ..extensions import db

blp = Blueprint("operations", __name__)


@blp.get("/healthz")
@public
def healthz():
    """Answer while the process runs."""
    return {"status": "ok"}


@blp.get("/readyz")
@public
def readyz():
    """Answer 200 when the database (and the broker, when configured) answer, else 503."""
    checks = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        checks["broker"] = _broker_ok()
    if all(checks.values()):
        return {"status": "ready", "checks": checks}
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return problem(503, f"Not ready: {failing} does not answer.")


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        return False


def _broker_ok() -> bool:
    try:
        with current_app.extensions["celery_producer"].connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
        return True
    except Exception:  # noqa: BLE001
        return False


@blp.get("/api/v1/docs/assets/<path:filename>")
@public
def docs_assets(filename):
    """Serve Swagger UI's files from the installed package, so the docs work offline."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
