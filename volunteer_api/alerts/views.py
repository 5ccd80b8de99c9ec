"""The inbox of inspectors and admins, and the admins' view of dead-letter jobs."""
from flask.views import MethodView

from .. import jobs, select_language
from ..auth.access import current_user, roles
from ..pagination import page_schema
from ..security import Blueprint
from . import services
from .schemas import AlertListArgsSchema, AlertSchema, JobListArgsSchema, JobSchema

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts and dead-letter jobs")


@blp.route("/alerts")
class Alerts(MethodView):
    @roles("inspector", "admin")
    @blp.arguments(AlertListArgsSchema, location="query")
    @blp.response(200, page_schema(AlertSchema))
    def get(self, args):
        """List my alerts, newest first."""
        items, next_cursor = services.list_alerts(user=current_user(), **args)
        return {"items": services.render_for_reader(items, select_language()), "next_cursor": next_cursor}


@blp.route("/alerts/<id:alert_id>/read")
class AlertRead(MethodView):
    @roles("inspector", "admin")
    @blp.response(200, AlertSchema)
    @blp.alt_response(404, description="No such alert in my inbox")
    def post(self, alert_id):
        """Mark one of my alerts read (again: no change)."""
        alert = services.mark_alert_read(user=current_user(), alert_id=alert_id)
        return services.render_for_reader([alert], select_language())[0]


@blp.route("/jobs")
class Jobs(MethodView):
    @roles("admin")
    @blp.arguments(JobListArgsSchema, location="query")
    @blp.response(200, page_schema(JobSchema))
    def get(self, args):
        """List background jobs, newest first (`?status=dead` for the dead-letter ones)."""
        items, next_cursor = jobs.list_jobs(**args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/jobs/<id:job_id>/retry")
class JobRetry(MethodView):
    @roles("admin")
    @blp.response(200, JobSchema)
    @blp.alt_response(404, description="No such job")
    @blp.alt_response(409, description="The job is not dead")
    def post(self, job_id):
        """Retry a dead job with a fresh set of attempts."""
        return jobs.retry_dead_job(job_id=job_id)
