"""The front door (`/`), liveness, readiness, the self-hosted API docs, and the admins' view of the jobs."""
from flask import Blueprint, current_app, render_template, request, send_from_directory
from flask.views import MethodView
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from ..auth.access import public, roles
from ..errors import problem
from ..extensions import db
from ..i18n import select_language
from ..pagination import page_schema
from ..security import Blueprint as ApiBlueprint
from . import services
from .schemas import JobListArgsSchema, JobSchema

# The front door, probes and docs assets: plain routes, outside the API's document.
blp = Blueprint("operations", __name__, template_folder="templates")
# What a browser is pointed at from the front door; the console and the volunteers' app are served there.
FRONT_DOOR_LINKS = {"console": "/console/", "app": "/app/", "docs": "/api/v1/docs", "openapi": "/api/v1/openapi.json"}
# The front door's own inline style, and nothing else.
FRONT_DOOR_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@blp.get("/")
@blp.get("/api/v1/")
@public
def front_door():
    """Point a browser at the console, the volunteers' app and the API docs (JSON clients get the links)."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        return {"links": FRONT_DOOR_LINKS}
    page = render_template("operations/home.html", language=select_language(), links=FRONT_DOOR_LINKS)
    return page, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": FRONT_DOOR_CSP}
# The jobs endpoints, in the API's document.
api_blp = ApiBlueprint("jobs", __name__, url_prefix="/api/v1", description="Background jobs (admin)")


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


@api_blp.route("/jobs")
class Jobs(MethodView):
    @roles("admin")
    @api_blp.arguments(JobListArgsSchema, location="query")
    @api_blp.response(200, page_schema(JobSchema))
    @api_blp.doc(operationId="listJobs")
    def get(self, args):
        """List background jobs, newest first (`?status=dead` for the dead-letter ones)."""
        items, next_cursor = services.list_jobs(**args)
        return {"items": items, "next_cursor": next_cursor}


@api_blp.route("/jobs/<id:job_id>/retry")
class JobRetry(MethodView):
    @roles("admin")
    @api_blp.response(200, JobSchema)
    @api_blp.alt_response(404, description="No such job")
    @api_blp.alt_response(409, description="The job is not dead")
    @api_blp.doc(operationId="retryJob")
    def post(self, job_id):
        """Retry a dead job with a fresh set of attempts."""
        return services.retry_dead_job(job_id=job_id)
