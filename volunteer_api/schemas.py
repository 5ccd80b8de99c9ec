"""Request shapes several domains share: a PATCH body, and the arguments and file of a CSV import."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validates_schema


class ChangesSchema(Schema):
    """A PATCH body: the fields to change. A missing or empty body is a client's mistake, not a no-op."""

    @validates_schema
    def _changes_something(self, data, **kwargs):
        if not data:
            raise ValidationError(str(_l("Send at least one field to change.")))


class ImportArgsSchema(Schema):
    dry_run = fields.Boolean(load_default=False)


class ImportFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
