from flask import g
from flask.views import MethodView

from ..auth.access import roles
from ..pagination import page_schema
from ..security import Blueprint
from . import services, verifications
from .schemas import AuditEventSchema, AuditListArgsSchema, AuditVerificationSchema, VerificationRunSchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit")


@blp.route("/audit")
class AuditEvents(MethodView):
    @roles("admin")
    @blp.arguments(AuditListArgsSchema, location="query")
    @blp.response(200, page_schema(AuditEventSchema))
    @blp.doc(operationId="listAuditEvents")
    def get(self, args):
        """List audit events, newest first, by actor, object, action and time."""
        # Embedded mode has no worker to seal; sealing here too makes the answer current everywhere.
        services.seal_chain()
        items, next_cursor = services.list_events(**args)
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/audit/verify")
class AuditVerification(MethodView):
    @roles("admin")
    @blp.response(200, AuditVerificationSchema)
    @blp.doc(operationId="verifyAuditChain")
    def get(self):
        """Recompute the audit hash chain and name the first edited, deleted or inserted event.

        Every event carries an HMAC under AUDIT_KEY, a key the database does not hold, and the chain
        links them by HMAC; the head is anchored outside the database by signed checkpoints (the log,
        the anchor file, the admins' webhook and e-mail). `ok` proves that every sealed event is as the
        application wrote it, that none was inserted, deleted or reordered, and that the chain reaches
        the newest checkpoint with the same hash. It cannot prove that events written after the newest
        checkpoint were not deleted (checkpoints every AUDIT_CHECKPOINT_SECONDS bound that window),
        that a change the application never recorded happened, or anything against whoever holds
        AUDIT_KEY. `reason`: `hash_mismatch` (content edited), `gap` or `broken_link` (an event deleted
        or inserted), `checkpoint_mismatch` or `truncated` (the chain was rebuilt or cut below a
        checkpoint), `unkeyed_event` or `backdated_event` (an event the sealer refused to seal).

        Incremental: the answer is the newest stored verification (signed with AUDIT_KEY, so a database
        writer cannot forge or advance it) plus a walk of the events sealed since, which stays short
        (a sweep verifies the tail every AUDIT_VERIFY_INTERVAL_SECONDS). An edit below the stored
        verification made after it ran is seen by a full verification (`POST /audit/verifications`).
        A failure stands until a full verification passes after it; a stored verification whose
        signature does not verify is refused (`bad_checkpoint`).
        """
        return verifications.verify_audit_chain()


@blp.route("/audit/verifications")
class AuditVerifications(MethodView):
    @roles("admin")
    @blp.response(202, VerificationRunSchema)
    @blp.doc(operationId="startFullAuditVerification")
    def post(self):
        """Start a full verification of the chain from seq 1, run by the workers; follow it by its id."""
        verification = verifications.start_full_verification(requested_by_id=g.current_user.id)
        return verifications.verification_summary(verification), 202, {
            "Location": f"/api/v1/audit/verifications/{verification.id}"}


@blp.route("/audit/verifications/<id:verification_id>")
class AuditVerificationRun(MethodView):
    @roles("admin")
    @blp.response(200, VerificationRunSchema)
    @blp.alt_response(404, description="No such verification")
    @blp.doc(operationId="getAuditVerification")
    def get(self, verification_id):
        """A verification's state and, once done, its signed result."""
        return verifications.verification_summary(verifications.get_verification(verification_id))
