"""The push services a device is reached by: Web Push with VAPID (browsers) and FCM HTTP v1 (native apps).

Each sender either hands the message over, raises `PushGone` when the push service says the subscription
or token no longer exists (the device is then forgotten), or raises anything else for the delivery job
to retry with backoff.
"""
from __future__ import annotations

import base64
import json
import os
import tempfile
import warnings
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

# The push libraries (pywebpush, py_vapid, cryptography's key handling: ~35 MB) are imported where they
# are used: the web workers serve the public key at most, the Celery worker sends.
if TYPE_CHECKING:
    from py_vapid import Vapid

WEB_PUSH_TIMEOUT_SECONDS = 10
# How long a push service keeps an alert for a phone that is off: a day, then it is stale.
PUSH_TTL_SECONDS = 24 * 3600
FCM_APP_NAME = "volunteer-monitor"


class PushGone(Exception):
    """The push service no longer knows this subscription or token (HTTP 404/410, FCM UNREGISTERED)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@cache
def vapid_from_setting(private_key: str) -> Vapid:
    """The VAPID key pair of a VAPID_PRIVATE_KEY setting: PEM, or base64url of the raw key or its DER."""
    from py_vapid import Vapid

    text = private_key.strip()
    if text.startswith("-----BEGIN"):
        return Vapid.from_pem(text.encode())
    return Vapid.from_string(text)


@cache
def vapid_from_file(path: str) -> Vapid:
    """The instance's own VAPID key pair, generated on first use (development and tests).

    Created atomically (a complete temporary file hard-linked into place), so two processes starting at
    once end up with the same key: the browsers' subscriptions are bound to it.
    """
    from py_vapid import Vapid

    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fresh = Vapid()
        fresh.generate_keys()
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".vapid-")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(fresh.private_pem())
            os.chmod(temp_name, 0o600)
            try:
                os.link(temp_name, target)
            except FileExistsError:
                pass  # another process won the race: use its key
        finally:
            Path(temp_name).unlink(missing_ok=True)
    return Vapid.from_pem(target.read_bytes())


def application_server_key(vapid: Vapid) -> str:
    """The public key as browsers take it (`applicationServerKey`): the uncompressed P-256 point, base64url."""
    from cryptography.hazmat.primitives import serialization

    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def send_web_push(*, subscription: dict, payload: dict, vapid: Vapid, subject: str) -> None:
    """Encrypt the payload (RFC 8291, aes128gcm) for the subscription and POST it to its push service."""
    from pywebpush import WebPushException, webpush

    try:
        webpush(subscription_info=subscription, data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=vapid, vapid_claims={"sub": subject}, ttl=PUSH_TTL_SECONDS,
                timeout=WEB_PUSH_TIMEOUT_SECONDS)
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            raise PushGone(f"push service answered {status}") from exc
        raise


def fcm_message(*, token: str, payload: dict):
    """The FCM HTTP v1 message for one native device: a visible notification plus the alert's data."""
    from firebase_admin import messaging

    with warnings.catch_warnings():
        # firebase-admin 7.7 deprecates `token` for Firebase installation ids (`fid`); the apps register
        # FCM registration tokens, which the HTTP v1 API still takes as `token`.
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(
            token=token,
            notification=messaging.Notification(title=payload["title"], body=payload["body"]),
            # FCM data values must be strings.
            data={key: str(value) for key, value in payload.items() if value is not None},
            android=messaging.AndroidConfig(priority="high", ttl=timedelta(seconds=PUSH_TTL_SECONDS)),
            apns=messaging.APNSConfig(headers={"apns-priority": "10"}),
        )


@cache
def fcm_app(credentials_file: str):
    """The firebase-admin app of a service-account file, made once per process."""
    import firebase_admin
    from firebase_admin import credentials

    return firebase_admin.initialize_app(credentials.Certificate(credentials_file), name=FCM_APP_NAME)


def send_fcm(*, token: str, payload: dict, credentials_file: str) -> None:
    """Send one message through FCM HTTP v1; an unregistered token (or one of another project) is gone."""
    from firebase_admin import messaging

    try:
        messaging.send(fcm_message(token=token, payload=payload), app=fcm_app(credentials_file))
    except (messaging.UnregisteredError, messaging.SenderIdMismatchError) as exc:
        raise PushGone(f"FCM: {exc.__class__.__name__}") from exc
