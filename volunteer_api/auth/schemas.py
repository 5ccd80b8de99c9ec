from marshmallow import Schema, fields, validate

from ..people.schemas import NewPassword, UserSchema


class LoginSchema(Schema):
    login = fields.String(required=True, validate=validate.Length(min=3, max=254),
                          metadata={"example": "+77011234567"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class TokensSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the access token lives"})
    user = fields.Nested(UserSchema, required=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)
    new_password = NewPassword(required=True)
