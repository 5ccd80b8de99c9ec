"""The audit endpoints' HTTP contract."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..ids import Id
from ..pagination import PageArgsSchema
from ..timestamps import RFC3339DateTime

CHAIN_HASH = {"description": "HMAC-SHA256 (hex) linking the event into the chain; null until sealed."}


class AuditListArgsSchema(PageArgsSchema):
    actor_id = Id()
    object_type = fields.String(validate=validate.Length(min=1, max=32))
    object_id = fields.String(validate=validate.Length(min=1, max=64))
    action = fields.String(validate=validate.Length(min=1, max=64))
    from_ = RFC3339DateTime(data_key="from", metadata={"description": "Events at or after this time."})
    to = RFC3339DateTime(metadata={"description": "Events before this time."})

    @validates_schema
    def ordered_range(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(str(_l("Must not be before 'from'.")), field_name="to")


class AuditEventSchema(Schema):
    id = fields.String(required=True)
    seq = fields.Integer(allow_none=True, required=True,
                         metadata={"description": "Place in the hash chain; null until sealed (seconds after the change)."})
    actor_id = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    before = fields.Dict(allow_none=True, required=True)
    after = fields.Dict(allow_none=True, required=True)
    request_id = fields.String(allow_none=True, required=True)
    address = fields.String(allow_none=True, required=True)
    created_at = RFC3339DateTime(required=True)
    prev_hash = fields.String(allow_none=True, required=True, metadata=CHAIN_HASH)
    hash = fields.String(allow_none=True, required=True, metadata=CHAIN_HASH)


class VerificationRunSchema(Schema):
    """One stored verification of the chain: a full one an admin started, or an incremental one."""

    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["full", "incremental"]),
                         metadata={"description": "full: the whole chain from seq 1 (a job); incremental: the "
                                                  "events sealed since the previous verification."})
    status = fields.String(required=True, validate=validate.OneOf(["running", "done"]))
    started_at = RFC3339DateTime(required=True)
    finished_at = RFC3339DateTime(required=True, allow_none=True)
    ok = fields.Boolean(metadata={"description": "When done."})
    checked = fields.Integer(metadata={"description": "Events from seq 1 found intact (when done)."})
    verified_through = fields.Integer(metadata={"description": "The seq the verification reached (when done)."})
    signed = fields.Boolean(metadata={"description": "Its AUDIT_KEY signature verifies (false: forged or edited in "
                                                     "the database)."})
    first_broken_id = fields.String(metadata={"description": "When it failed."})
    reason = fields.String(metadata={"description": "When it failed (see GET /audit/verify)."})


class AuditVerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "Sealed events found intact."})
    unsealed = fields.Integer(metadata={"description": "Events written but not yet sealed (when ok)."})
    first_broken_id = fields.String(metadata={"description": "The first event that breaks the chain."})
    reason = fields.String(
        validate=validate.OneOf(["hash_mismatch", "broken_link", "gap", "checkpoint_mismatch", "truncated",
                                 "unkeyed_event", "backdated_event", "bad_checkpoint"]),
        metadata={"description": "hash_mismatch: content edited; broken_link or gap: an event deleted or "
                                 "inserted before it; checkpoint_mismatch or truncated: the chain was rebuilt "
                                 "or cut below a signed checkpoint (first_broken_id is then the checkpoint's "
                                 "head); unkeyed_event or backdated_event: an event the sealer refused; "
                                 "bad_checkpoint: a stored verification's signature does not verify."})
    verified_through = fields.Integer(metadata={"description": "The seq the answer covers: every event from seq 1 "
                                                               "through it is intact (when ok)."})
    tail_checked = fields.Integer(metadata={"description": "Events this call walked: those sealed since the stored "
                                                           "verification it started from."})
    as_of = RFC3339DateTime(metadata={"description": "When the answer's verification was made (a standing failure "
                                                     "keeps its own time)."})
    verification_id = fields.String(metadata={"description": "The stored verification that says this."})
    forged_verification_id = fields.String(metadata={"description": "A stored verification whose signature does "
                                                                    "not verify (reason bad_checkpoint)."})
    full_verification = fields.Nested(VerificationRunSchema, allow_none=True,
                                      metadata={"description": "The newest full verification (null: none yet)."})


class ActorSchema(Schema):
    """Who made a change."""

    id = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)


class HistoryEntrySchema(Schema):
    at = RFC3339DateTime(required=True)
    by = fields.Nested(ActorSchema, required=True, allow_none=True)
    action = fields.String(required=True, metadata={"example": "returned"})
    comment = fields.String(required=True, allow_none=True)


class HistorySchema(Schema):
    """Every state change of one object (an inspection, a savings report)."""

    items = fields.List(fields.Nested(HistoryEntrySchema), required=True,
                        metadata={"description": "Oldest first"})
