from flask.views import MethodView

from ..auth.access import public
from ..security import Blueprint
from .schemas import DistrictListSchema
from .services import list_districts

blp = Blueprint("districts", __name__, url_prefix="/api/v1/districts", description="Reference data")


@blp.route("")
class Districts(MethodView):
    @public
    @blp.response(200, DistrictListSchema)
    @blp.doc(operationId="listDistricts")
    def get(self):
        """List the districts (names in the caller's language)."""
        return {"items": list_districts()}
