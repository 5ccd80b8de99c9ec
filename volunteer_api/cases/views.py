from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import current_user, roles
from ..inspections.schemas import InspectionSchema
from . import services
from .schemas import OutcomeArgsSchema, OutcomesSchema, ReferralCreateSchema, ResolutionCreateSchema

blp = Blueprint("cases", __name__, url_prefix="/api/v1",
                description="Cases: what became of confirmed inspections, and the fix rate")


@blp.route("/inspections/<id:inspection_id>/referral")
class CaseReferral(MethodView):
    @roles("inspector", "admin")
    @blp.arguments(ReferralCreateSchema)
    @blp.response(200, InspectionSchema)
    @blp.alt_response(404, description="No such inspection, or not in the inspector's districts")
    @blp.alt_response(409, description="Already referred, or the inspection is not confirmed (not a case)")
    @blp.doc(operationId="referInspection")
    def post(self, data, inspection_id):
        """Record where a confirmed inspection was referred (inspector of its district, or admin); once."""
        return services.refer_case(inspection_id, user=current_user(), **data)


@blp.route("/inspections/<id:inspection_id>/resolution")
class CaseResolution(MethodView):
    @roles("inspector", "admin")
    @blp.arguments(ResolutionCreateSchema)
    @blp.response(200, InspectionSchema)
    @blp.alt_response(404, description="No such inspection, or not in the inspector's districts")
    @blp.alt_response(409, description="Already resolved, or the inspection is not confirmed (not a case)")
    @blp.doc(operationId="resolveInspection")
    def post(self, data, inspection_id):
        """Record how a case ended (inspector of its district, or admin); once, referred or not."""
        return services.resolve_case(inspection_id, user=current_user(), **data)


@blp.route("/outcomes")
class Outcomes(MethodView):
    @roles("inspector", "admin")
    @blp.arguments(OutcomeArgsSchema, location="query")
    @blp.response(200, OutcomesSchema, description=(
        "The cases confirmed in the period (by confirmation date, Asia/Almaty; both ends inclusive; no bounds: "
        "all time) and what became of them, as the workers last computed them (within seconds of each "
        "confirmation, referral or resolution, and every 5 minutes). The fix rate is fixed ÷ confirmed and "
        "is never given without its denominators. An inspector sees their districts, an admin all."))
    @blp.alt_response(404, description="A district the inspector does not cover")
    @blp.doc(operationId="getOutcomes")
    def get(self, args):
        """Read the fix rate and its denominators, overall and by district."""
        return services.read_outcomes(user=current_user(), **args)
