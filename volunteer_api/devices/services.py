"""Devices that receive alerts by push, the app's client settings, and the minimum app versions."""
import hashlib
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from packaging.version import InvalidVersion, Version
from sqlalchemy import delete, select

from ..audit.services import record_event
from ..errors import Invalid, NotFound
from ..database import db, insert_unless_duplicate
from ..ids import parse_id
from ..timestamps import utcnow
from . import push as push_services
from .models import PLATFORMS, Device

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ClientTooOld(Exception):
    """The calling app's version is below its platform's minimum (answered 426)."""

    def __init__(self, platform: str):
        super().__init__(platform)
        self.platform = platform


def min_versions() -> dict[str, str]:
    return dict(current_app.config["MIN_CLIENT_VERSIONS"])


def check_client_version(platform: str | None, version: str | None) -> None:
    """Raise ClientTooOld when `version` is below the platform's minimum; an unknown platform is let through.

    Versions compare semantically (1.10.0 > 1.9.2), by PEP 440 rules, which read 1.2.0-beta as 1.2.0b0.
    """
    if not platform or not version:
        return
    platform = platform.strip().lower()
    if platform not in PLATFORMS:
        return
    try:
        below = Version(version.strip()) < Version(min_versions()[platform])
    except InvalidVersion as exc:
        raise Invalid(_l("X-Client-Version is not a version number."),
                      errors={"X-Client-Version": [str(_l("Expected a version such as 1.4.2."))]}) from exc
    if below:
        raise ClientTooOld(platform)


def web_push_vapid():
    """The VAPID key pair, or None when Web Push is off (production without VAPID_PRIVATE_KEY)."""
    config = current_app.config
    if config.get("VAPID_PRIVATE_KEY"):
        return push_services.vapid_from_setting(config["VAPID_PRIVATE_KEY"])
    if config.get("VAPID_KEY_FILE"):
        return push_services.vapid_from_file(str(config["VAPID_KEY_FILE"]))
    return None


def fcm_credentials_file() -> str | None:
    """The service-account file FCM is sent with; None: native push is off."""
    return current_app.config.get("FCM_CREDENTIALS_FILE") or None


def client_config() -> dict:
    """What an app reads before anything else: the minimum versions and the Web Push public key."""
    vapid = web_push_vapid()
    return {"min_version": min_versions(),
            "web_push_public_key": push_services.application_server_key(vapid) if vapid else None}


def _push_key(platform: str, push: dict) -> str:
    address = push["endpoint"] if platform == "web" else push["token"]
    return hashlib.sha256(f"{platform}:{address}".encode()).hexdigest()


def _check_endpoint(endpoint: str) -> None:
    """A Web Push endpoint must be a known push service over HTTPS: the server POSTs there (no SSRF)."""
    url = urlsplit(endpoint)
    host = (url.hostname or "").lower()
    allowed = current_app.config["WEB_PUSH_ENDPOINT_HOSTS"]
    known = any(host == suffix or host.endswith("." + suffix) for suffix in allowed)
    # Plain HTTP only to a loopback push service that the settings name (tests, a local relay).
    secure = url.scheme == "https" or (url.scheme == "http" and host in LOOPBACK_HOSTS)
    if not (known and secure):
        raise Invalid(errors={"push.endpoint": [str(_l("Not the address of a known push service."))]})


def register_device(*, user, platform: str, push: dict) -> Device:
    """Register (or re-register) the caller's device for push; a subscription belongs to whoever registered it last."""
    if platform == "web":
        _check_endpoint(push["endpoint"])
        push = {"endpoint": push["endpoint"], "keys": dict(push["keys"])}
    key = _push_key(platform, push)
    # One statement decides between two registrations of the same subscription arriving at once.
    device = insert_unless_duplicate(Device, {"user_id": user.id, "platform": platform, "push": push,
                                              "push_key": key, "created_at": utcnow(), "updated_at": utcnow()})
    if device is not None:
        record_event(action="device.register", object_type="device", object_id=device.id, before=None,
                     after={"user_id": str(user.id), "platform": platform})
    else:
        device = db.session.scalars(select(Device).where(Device.push_key == key).with_for_update()).one()
        if device.user_id != user.id or device.push != push:
            before = {"user_id": str(device.user_id)}
            device.user_id, device.push = user.id, push
            record_event(action="device.register", object_type="device", object_id=device.id, before=before,
                         after={"user_id": str(user.id), "platform": platform})
    db.session.commit()
    return device


def remove_device(*, user, device_id: str) -> None:
    """Unregister one of the caller's devices; anyone else's (or an unknown id) is 404."""
    key = parse_id(device_id)
    device = None if key is None else db.session.scalars(
        select(Device).where(Device.id == key, Device.user_id == user.id)).one_or_none()
    if device is None:
        raise NotFound()
    record_event(action="device.remove", object_type="device", object_id=device.id,
                 before={"user_id": str(device.user_id), "platform": device.platform}, after=None)
    db.session.delete(device)
    db.session.commit()


def forget_gone_device(device_id: int) -> None:
    """Drop a device whose push service says the subscription is gone (in the caller's transaction)."""
    db.session.execute(delete(Device).where(Device.id == device_id))


def push_targets(user_ids: list[int]) -> list[tuple[int, int, str]]:
    """(user_id, device_id, channel) for each device of these users that a configured push channel reaches."""
    platforms = []
    if web_push_vapid() is not None:
        platforms.append("web")
    if fcm_credentials_file():
        platforms += ["android", "ios"]
    if not user_ids or not platforms:
        return []
    rows = db.session.execute(
        select(Device.user_id, Device.id, Device.platform)
        .where(Device.user_id.in_(user_ids), Device.platform.in_(platforms)).order_by(Device.id)
    ).all()
    return [(user_id, device_id, "web_push" if platform == "web" else "fcm") for user_id, device_id, platform in rows]
