"""The alert endpoints' HTTP contract."""
from marshmallow import Schema, fields, validate

from ..pagination import PageArgsSchema
from ..timestamps import RFC3339DateTime
from .models import ALERT_KINDS


class AlertListArgsSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only alerts not read yet."})


class AlertSubjectSchema(Schema):
    type = fields.String(required=True, metadata={"description": "inspection, saving or site"})
    id = fields.String(required=True)


class AlertSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    created_at = RFC3339DateTime(required=True)
    read_at = RFC3339DateTime(required=True, allow_none=True)
    subject = fields.Nested(AlertSubjectSchema, required=True)
    message = fields.String(required=True, metadata={"description": "In the reader's Accept-Language."})
