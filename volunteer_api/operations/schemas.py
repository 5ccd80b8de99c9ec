"""The operations endpoints' HTTP contract: the background jobs as admins see them."""
from marshmallow import Schema, fields, validate

from ..jobs.outbox import JOB_STATUSES
from ..pagination import PageArgsSchema
from ..timestamps import RFC3339DateTime


class JobListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(JOB_STATUSES))


class JobSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    payload = fields.Dict(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    created_at = RFC3339DateTime(required=True)
    available_at = RFC3339DateTime(required=True)
    finished_at = RFC3339DateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
