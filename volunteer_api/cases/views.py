from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import current_user, roles
from ..inspections.schemas import InspectionSchema
from . import services
from .schemas import OutcomeArgsSchema, OutcomesSchema, ReferralCreateSchema, ResolutionCreateSchema

blp = Blueprint("cases", __name__, url_prefix="/api/v1",
                description="Cases: what became of confirmed inspections, and the fix rate")


def _case_step_view(step: str, *, schema, record, operation_id: str, summary: str, conflict: str) -> type:
    """The POST of one step of a case (its referral, its resolution): both have the same rules and answers."""

    class CaseStepView(MethodView):
        @roles("inspector", "admin")
        @blp.arguments(schema)
        @blp.response(200, InspectionSchema)
        @blp.alt_response(404, description="No such inspection, or not in the inspector's districts")
        @blp.alt_response(409, description=conflict + ", or the inspection is not confirmed (not a case)")
        @blp.doc(operationId=operation_id)
        def post(self, data, inspection_id):
            return record(inspection_id, user=current_user(), **data)

    CaseStepView.post.__doc__ = summary  # flask-smorest's summary of the operation
    CaseStepView.__name__ = CaseStepView.__qualname__ = f"Case{step.title()}"  # the endpoint's name
    return blp.route(f"/inspections/<id:inspection_id>/{step}")(CaseStepView)


_case_step_view("referral", schema=ReferralCreateSchema, record=services.refer_case, operation_id="referInspection",
                summary="Record where a confirmed inspection was referred (inspector of its district, or admin); once.",
                conflict="Already referred")
_case_step_view("resolution", schema=ResolutionCreateSchema, record=services.resolve_case,
                operation_id="resolveInspection",
                summary="Record how a case ended (inspector of its district, or admin); once, referred or not.",
                conflict="Already resolved")


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
