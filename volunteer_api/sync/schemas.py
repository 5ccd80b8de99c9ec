"""The /sync contract: what the phone caches for offline work."""
from marshmallow import Schema, fields, validate

from ..money import KZT
from ..sites.schemas import SiteSchema
from ..timestamps import RFC3339DateTime

MAX_SYNC_LIMIT = 500


class SyncArgsSchema(Schema):
    since = fields.String(load_default=None, validate=validate.Length(max=512),
                          metadata={"description": "The next_cursor of the previous sync; leave out on the first sync"})
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=MAX_SYNC_LIMIT),
                           metadata={"description": "At most this many changes, all kinds together"})


class SyncInspectionSchema(Schema):
    """The state of one of the caller's inspections."""

    id = fields.String(required=True)
    client_uuid = fields.String(required=True)
    site_id = fields.String(required=True)
    status = fields.String(required=True)
    flagged = fields.Boolean(required=True)
    flag_reasons = fields.List(fields.String(), required=True)
    reviewed_at = RFC3339DateTime(allow_none=True, required=True)
    review_comment = fields.String(allow_none=True, required=True)
    updated_at = RFC3339DateTime(required=True)


class SyncSavingSchema(Schema):
    """The state of one of the caller's savings reports."""

    id = fields.String(required=True)
    client_uuid = fields.String(required=True)
    site_id = fields.String(required=True)
    amount_kzt = KZT(attribute="amount_tiyn", required=True)
    status = fields.String(required=True)
    reviewed_at = RFC3339DateTime(allow_none=True, required=True)
    review_comment = fields.String(allow_none=True, required=True)
    updated_at = RFC3339DateTime(required=True)


class SyncRemovedSchema(Schema):
    type = fields.String(required=True, metadata={"description": "site"})
    id = fields.String(required=True)


class SyncSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema), required=True,
                        metadata={"description": "Sites of the caller's district(s) created or changed since the cursor"})
    inspections = fields.List(fields.Nested(SyncInspectionSchema), required=True,
                              metadata={"description": "The caller's inspections filed or reviewed since the cursor"})
    savings = fields.List(fields.Nested(SyncSavingSchema), required=True,
                          metadata={"description": "The caller's savings reports filed or decided since the cursor"})
    removed = fields.List(fields.Nested(SyncRemovedSchema), required=True, metadata={
        "description": "Sites that left the caller's districts since the cursor: drop them from the phone"})
    next_cursor = fields.String(required=True, metadata={"description": "Send as ?since= next time"})
    has_more = fields.Boolean(required=True, metadata={"description": "true: call again at once with next_cursor"})
