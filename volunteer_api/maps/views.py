from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import roles
from ..risk.schemas import RISK_DESCRIPTION
from . import services
from .schemas import MapArgsSchema

blp = Blueprint("maps", __name__, url_prefix="/api/v1", description="The corruption-risk map")

GEOJSON_MEDIA_TYPE = "application/geo+json"


@blp.route("/map/sites.geojson")
class SitesMap(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.arguments(MapArgsSchema, location="query")
    @blp.response(200, content_type=GEOJSON_MEDIA_TYPE, description=(
        "An RFC 7946 FeatureCollection, one Point per site (`[lon, lat]`, WGS 84), streamed. Properties: id, "
        "name, kind, district, status, budget_kzt, risk_level, open_flags, approved_savings_kzt.\n\n"
        "risk_level: " + RISK_DESCRIPTION))
    @blp.doc(operationId="getSitesMap")
    def get(self, args):
        """Stream every site as a GeoJSON point with its risk level (the corruption-risk map)."""
        chunks = services.stream_sites_geojson(**args)
        return Response(stream_with_context(chunks), mimetype=GEOJSON_MEDIA_TYPE)
