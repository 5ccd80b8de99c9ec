"""The devices, push and client-config endpoints' HTTP contract."""
import base64
import binascii

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..timestamps import RFC3339DateTime
from .models import PLATFORMS

P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_SECRET_BYTES = 16


def _b64url_bytes(length: int, *, first_byte: int | None = None):
    def check(value: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("Not base64url.") from exc
        if len(raw) != length or (first_byte is not None and raw[0] != first_byte):
            raise ValidationError(f"Expected base64url of {length} bytes.")
    return check


class WebPushKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=_b64url_bytes(P256DH_BYTES, first_byte=0x04))
    auth = fields.String(required=True, validate=_b64url_bytes(AUTH_SECRET_BYTES))


class WebPushSubscriptionSchema(Schema):
    """What the browser's `PushSubscription.toJSON()` gives."""

    endpoint = fields.Url(required=True, schemes={"https", "http"}, require_tld=False,
                          validate=validate.Length(max=2048))
    keys = fields.Nested(WebPushKeysSchema, required=True)
    expirationTime = fields.Integer(allow_none=True, load_default=None)  # noqa: N815 - the browser's name


class NativePushSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                          metadata={"description": "The FCM registration token of the app (Android or iOS)"})


PUSH_SCHEMAS = {"web": WebPushSubscriptionSchema, "android": NativePushSchema, "ios": NativePushSchema}


class DeviceRegistrationSchema(Schema):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    push = fields.Dict(required=True, metadata={
        "description": "web: the PushSubscription as JSON (`endpoint`, `keys.p256dh`, `keys.auth`); "
                       "android/ios: `{\"token\"}`, the FCM registration token"})

    @validates_schema
    def _push_matches_platform(self, data, **_kwargs):
        if data.get("platform") in PUSH_SCHEMAS and isinstance(data.get("push"), dict):
            errors = PUSH_SCHEMAS[data["platform"]]().validate(data["push"])
            if errors:
                raise ValidationError({"push": errors})

    @post_load
    def _load_push(self, data, **_kwargs):
        data["push"] = PUSH_SCHEMAS[data["platform"]]().load(data["push"])
        return data


class DeviceSchema(Schema):
    id = fields.String(required=True)
    platform = fields.String(required=True)
    created_at = RFC3339DateTime(required=True)


class MinVersionSchema(Schema):
    android = fields.String(required=True)
    ios = fields.String(required=True)
    web = fields.String(required=True)


class ClientConfigSchema(Schema):
    min_version = fields.Nested(MinVersionSchema, required=True, metadata={
        "description": "The oldest app version each platform may use; an older one gets 426 on every call"})
    web_push_public_key = fields.String(allow_none=True, required=True, metadata={
        "description": "The VAPID public key (base64url) for `pushManager.subscribe`; null when Web Push is off"})
