"""Request shapes several domains share: a PATCH body, an array in the query string, a CSV import."""
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


class QueryList(fields.List):
    """An array in the query string, in either spelling: `by=site,month` or `by=site&by=month`.

    webargs hands a List every repetition of the parameter; each is split at commas. An empty value
    (`by=`, `by=site,`) is a 422, never silently nothing. Documented as an exploded form array.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, (list, tuple)) else [value]
        items = [item.strip() for text in values for item in str(text).split(",")]
        if not items or any(not item for item in items):
            raise ValidationError(str(_l("Give one or more values, separated by commas.")))
        return super()._deserialize(items, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A boolean in a JSON body: `true` or `false` only (marshmallow's Boolean also takes 1, "yes", "on"...,
    which a query string needs but a JSON body never sends)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # not `in {True}`: 1 == True in Python
            raise self.make_error("invalid", input=value)
        return value
