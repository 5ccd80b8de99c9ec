"""The audit endpoints' HTTP contract."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..ids import Id
from ..pagination import PageArgsSchema
from ..timestamps import RFC3339DateTime

CHAIN_HASH = {"description": "SHA-256 (hex) linking the event into the chain; null until sealed."}


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


class AuditVerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "Sealed events found intact."})
    unsealed = fields.Integer(metadata={"description": "Events written but not yet sealed (when ok)."})
    first_broken_id = fields.String(metadata={"description": "The first event that breaks the chain."})
    reason = fields.String(validate=validate.OneOf(["hash_mismatch", "broken_link", "gap"]),
                           metadata={"description": "hash_mismatch: content edited; broken_link or gap: "
                                                    "an event deleted or inserted before it."})
