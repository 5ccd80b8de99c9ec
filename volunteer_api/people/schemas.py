"""The people endpoints' HTTP contract."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from ..pagination import PageArgsSchema
from ..schemas import ChangesSchema, JsonBoolean
from ..timestamps import RFC3339DateTime
from .phones import normalize_phone

NAME = validate.Length(min=1, max=200)
PASSWORD = validate.Length(min=10, max=128)


class Phone(fields.String):
    """A Kazakh mobile number in any common spelling, normalised to +7XXXXXXXXXX."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_phone(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class LowerEmail(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class UserSchema(Schema):
    """Any account as its owner and the admins see it."""

    id = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    full_name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    districts = fields.List(fields.String(), dump_only=True)
    badge_number = fields.String(allow_none=True)
    language = fields.String()
    active = fields.Boolean()
    created_at = RFC3339DateTime()


class VolunteerSchema(Schema):
    id = fields.String(required=True)
    badge_number = fields.String(required=True)
    full_name = fields.String(required=True)
    phone = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    district = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = RFC3339DateTime(required=True)


class CreatedVolunteerSchema(VolunteerSchema):
    initial_password = fields.String(metadata={"description": "Only when the server generated it; shown once."})


class VolunteerCreateSchema(Schema):
    full_name = fields.String(required=True, validate=NAME)
    phone = Phone(required=True)
    email = LowerEmail(load_default=None, allow_none=True)
    district = fields.String(required=True, validate=validate.Length(min=1, max=32))
    password = fields.String(load_default=None, validate=PASSWORD, load_only=True)


class VolunteerUpdateSchema(ChangesSchema):
    full_name = fields.String(validate=NAME)
    email = LowerEmail(allow_none=True)
    district = fields.String(validate=validate.Length(min=1, max=32))
    active = JsonBoolean()


class VolunteerListArgsSchema(PageArgsSchema):
    district = fields.String(validate=validate.Length(min=1, max=32))
    active = fields.Boolean()


class VolunteerImportResultSchema(Schema):
    created = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    volunteers = fields.List(fields.Nested(CreatedVolunteerSchema), required=True)


class VolunteerPreviewValuesSchema(Schema):
    """A row's values as the import would store them (phone as +7XXXXXXXXXX, e-mail lower-cased), or, when
    the row breaks a rule of their format, as the file has them."""

    full_name = fields.String(required=True, metadata={"example": "Айгерим Нурланова"})
    phone = fields.String(required=True, metadata={"example": "+77011234567"})
    email = fields.String(required=True, allow_none=True, metadata={"example": "aigerim@example.kz"})
    district = fields.String(required=True, metadata={"example": "taraz"})


class VolunteerImportPreviewRowSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "The row's line in the file (the header is 1)."})
    values = fields.Nested(VolunteerPreviewValuesSchema, required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "Messages by field; empty when the row would be created."})


class VolunteerImportPreviewSchema(Schema):
    """A dry run of an import: nothing was written, and no password exists yet."""

    dry_run = fields.Boolean(required=True, metadata={"example": True})
    total = fields.Integer(required=True, metadata={"description": "Rows in the file (blank lines skipped)."})
    valid = fields.Integer(required=True, metadata={"description": "Rows that would be created."})
    invalid = fields.Integer(required=True, metadata={"description": "Rows with errors: the import would refuse the file."})
    rows = fields.List(fields.Nested(VolunteerImportPreviewRowSchema), required=True)


class InspectorCreateSchema(Schema):
    full_name = fields.String(required=True, validate=NAME)
    phone = Phone(load_default=None, allow_none=True)
    email = LowerEmail(load_default=None, allow_none=True)
    districts = fields.List(fields.String(validate=validate.Length(min=1, max=32)), required=True,
                            validate=validate.Length(min=1, max=20))
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    language = fields.String(load_default="ru", validate=validate.OneOf(["ru", "kk", "en"]))

    @validates("districts")
    def unique_districts(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError(str(_l("A district is listed twice.")))


class InspectorSchema(Schema):
    id = fields.String(required=True)
    full_name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    districts = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    created_at = RFC3339DateTime(required=True)


class InspectorUpdateSchema(ChangesSchema):
    full_name = fields.String(validate=NAME)
    email = LowerEmail(allow_none=True)
    districts = fields.List(fields.String(validate=validate.Length(min=1, max=32)),
                            validate=validate.Length(min=1, max=20))
    active = JsonBoolean()
    language = fields.String(validate=validate.OneOf(["ru", "kk", "en"]))

    @validates("districts")
    def unique_districts(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError(str(_l("A district is listed twice.")))


class InspectorListArgsSchema(PageArgsSchema):
    district = fields.String(validate=validate.Length(min=1, max=32))
    active = fields.Boolean()
