"""Everyone's own inbox: inspectors, admins, and volunteers (whose inspections come back to them)."""
from flask.views import MethodView

from ..auth.access import current_user, roles
from ..i18n import select_language
from ..pagination import page_schema
from ..security import Blueprint
from . import services
from .schemas import AlertListArgsSchema, AlertSchema

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts")


@blp.route("/alerts")
class Alerts(MethodView):
    @roles("inspector", "admin", "volunteer")
    @blp.arguments(AlertListArgsSchema, location="query")
    @blp.response(200, page_schema(AlertSchema))
    @blp.doc(operationId="listAlerts")
    def get(self, args):
        """List my alerts, newest first."""
        items, next_cursor = services.list_alerts(user=current_user(), **args)
        return {"items": services.render_for_reader(items, select_language()), "next_cursor": next_cursor}


@blp.route("/alerts/<id:alert_id>/read")
class AlertRead(MethodView):
    @roles("inspector", "admin", "volunteer")
    @blp.response(200, AlertSchema)
    @blp.alt_response(404, description="No such alert in my inbox")
    @blp.doc(operationId="markAlertRead")
    def post(self, alert_id):
        """Mark one of my alerts read (again: no change)."""
        alert = services.mark_alert_read(user=current_user(), alert_id=alert_id)
        return services.render_for_reader([alert], select_language())[0]
