from flask.views import MethodView

from ..auth.access import current_user, roles
from ..security import Blueprint
from . import services
from .schemas import SyncArgsSchema, SyncSchema

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Offline sync for the phone")


@blp.route("/sync")
class Sync(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.arguments(SyncArgsSchema, location="query")
    @blp.response(200, SyncSchema)
    @blp.doc(operationId="syncChanges")
    def get(self, args):
        """Fetch what changed since the last sync: sites to cache offline and your reports' status changes.

        First call: no `since`; the answer holds the sites of your district (an inspector's: of their
        districts; an admin's: all) and your own inspections and savings reports. Store `next_cursor` and
        send it as `since` next time to receive only what changed after it: sites created or edited,
        your inspections filed or reviewed, your savings reports filed or decided. Each row appears in its
        latest state; a row changed twice since the cursor appears once. While `has_more` is true, call
        again at once with the new cursor. A change is never skipped: change numbers are handed out in
        commit order, so a cursor never passes a change that commits later.
        """
        return services.sync_changes(user=current_user(), **args)
