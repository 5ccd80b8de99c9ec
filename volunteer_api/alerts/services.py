"""Alerts: who is told what, exactly once per event and recipient, and on which channels."""
import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import String, cast, exists, func, literal, select

from ..audit.services import record_event
from ..devices.models import Device
from ..devices.push import PushGone, send_fcm, send_web_push
from ..devices.services import fcm_credentials_file, forget_gone_device, push_targets, web_push_vapid
from ..districts.models import District
from ..errors import NotFound
from ..database import db, insert_new_returning
from ..ids import parse_id
from ..inspections.models import Inspection
from ..jobs import RetryLater, enqueue, names
from ..pagination import keyset_page
from ..people.models import InspectorDistrict, User
from ..savings.models import SavingsReport
from ..sites.models import Site
from ..timestamps import format_utc, utcnow
from . import channels
from .messages import render_message, render_subject
from .models import Alert, AlertDelivery

ESCALATION_BATCH = 200

log = logging.getLogger(__name__)


def district_recipients(district: str) -> list[int]:
    """The active inspectors of the district; the active admins when it has none."""
    inspectors = db.session.scalars(
        select(User.id)
        .join(InspectorDistrict, InspectorDistrict.user_id == User.id)
        .where(InspectorDistrict.district == district, User.active.is_(True), User.role == "inspector")
        .order_by(User.id)
    ).all()
    return list(inspectors) or admin_recipients()


def admin_recipients() -> list[int]:
    """The active admins."""
    return list(db.session.scalars(select(User.id).where(User.role == "admin", User.active.is_(True)).order_by(User.id)))


def _insert_new_alerts(rows: list[dict]) -> list[int]:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING id: the ids of the alerts that did not exist yet."""
    return insert_new_returning(Alert, rows, Alert.id)


def create_alerts(*, kind: str, event_key: str, subject_type: str, subject_id, recipients: list[int],
                  params: dict | None = None) -> int:
    """Put one alert per recipient in their inbox and queue its e-mail and webhook deliveries.

    A repeat of the same event adds nothing (UNIQUE(event_key, recipient, kind)). Runs in the caller's
    transaction, so the alerts, their delivery jobs and the job that made them commit together.
    Returns the count added.
    """
    if not recipients:
        # No active inspector of the district and no active admin: nobody to tell. Loud, not silent.
        log.error("no active recipient for %s %s (%s)", kind, event_key, subject_type)
        return 0
    rows = [
        {"recipient_id": recipient, "kind": kind, "event_key": event_key, "subject_type": subject_type,
         "subject_id": str(subject_id), "params": params or {}, "created_at": utcnow()}
        for recipient in recipients
    ]
    new_ids = _insert_new_alerts(rows)
    if new_ids:
        _queue_deliveries(new_ids)
    return len(new_ids)


def _queue_deliveries(alert_ids: list[int]) -> None:
    """One delivery row and one job per outside channel, so each channel retries on its own."""
    config = current_app.config
    wanted = []
    if config.get("SMTP_URL"):
        with_email = set(db.session.scalars(
            select(Alert.id).join(User, User.id == Alert.recipient_id)
            .where(Alert.id.in_(alert_ids), User.email.is_not(None))
        ))
        wanted += [(alert_id, "email", None) for alert_id in alert_ids if alert_id in with_email]
    if config.get("ALERT_WEBHOOK_URL"):
        wanted += [(alert_id, "webhook", None) for alert_id in alert_ids]
    wanted += _push_deliveries(alert_ids)
    if not wanted:
        return
    deliveries = [AlertDelivery(alert_id=alert_id, channel=channel, device_id=device_id, status="pending")
                  for alert_id, channel, device_id in wanted]
    db.session.add_all(deliveries)
    db.session.flush()
    for delivery in deliveries:
        enqueue(names.DELIVER_ALERT, delivery_id=delivery.id)


def _push_deliveries(alert_ids: list[int]) -> list[tuple[int, str, int]]:
    """(alert, channel, device) for every registered device of each alert's recipient."""
    recipients = dict(db.session.execute(select(Alert.id, Alert.recipient_id).where(Alert.id.in_(alert_ids))).all())
    by_user: dict[int, list[tuple[int, str]]] = {}
    for user_id, device_id, channel in push_targets(sorted(set(recipients.values()))):
        by_user.setdefault(user_id, []).append((device_id, channel))
    return [(alert_id, channel, device_id) for alert_id in alert_ids
            for device_id, channel in by_user.get(recipients[alert_id], [])]


def _site_params(site_id) -> dict:
    site = db.session.get(Site, site_id)
    return {"site_id": str(site_id), "site_name": site.name if site else ""}


def notify_inspection_flagged(*, inspection_id: int) -> int:
    """Alert the district's inspectors (or the admins) that an inspection was flagged."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None or not inspection.flagged:
        return 0
    return create_alerts(
        kind="inspection_flagged",
        event_key=f"inspection:{inspection.id}",
        subject_type="inspection",
        subject_id=inspection.id,
        recipients=district_recipients(inspection.district),
        params={**_site_params(inspection.site_id), "district": inspection.district,
                "flag_reasons": list(inspection.flag_reasons), "severity": inspection.severity},
    )


def notify_savings_pending(*, saving_id: int) -> int:
    """Alert the district's inspectors (or the admins) that a savings report waits for verification."""
    report = db.session.get(SavingsReport, saving_id)
    if report is None or report.status != "pending":
        return 0
    return create_alerts(
        kind="savings_pending",
        event_key=f"saving:{report.id}",
        subject_type="saving",
        subject_id=report.id,
        recipients=district_recipients(report.district),
        params={**_site_params(report.site_id), "district": report.district, "amount_tiyn": report.amount_tiyn},
    )


def escalate_unreviewed() -> int:
    """Alert the admins, once, about every flagged inspection still unreviewed after ESCALATION_AFTER_HOURS."""
    hours = current_app.config["ESCALATION_AFTER_HOURS"]
    cutoff = utcnow() - timedelta(hours=hours)
    admins = admin_recipients()
    if not admins:
        db.session.rollback()
        return 0
    escalated = exists().where(
        Alert.event_key == literal("escalation:inspection:") + cast(Inspection.id, String),
        Alert.kind == "escalation",
    )
    added, last_id = 0, 0
    while True:
        # Keyset over the (flagged, status, district, id) index; those already escalated drop out.
        batch = db.session.execute(
            select(Inspection.id, Inspection.site_id, Inspection.district, Inspection.flag_reasons)
            .where(Inspection.flagged.is_(True), Inspection.status == "submitted",
                   Inspection.received_at < cutoff, Inspection.id > last_id, ~escalated)
            .order_by(Inspection.id)
            .limit(ESCALATION_BATCH)
        ).all()
        for inspection_id, site_id, district, reasons in batch:
            added += create_alerts(
                kind="escalation", event_key=f"escalation:inspection:{inspection_id}", subject_type="inspection",
                subject_id=inspection_id, recipients=admins,
                params={**_site_params(site_id), "district": district, "flag_reasons": list(reasons or []),
                        "hours": hours},
            )
        db.session.commit()
        if len(batch) < ESCALATION_BATCH:
            return added
        last_id = batch[-1][0]


def deliver(*, delivery_id: int, last_attempt: bool = True) -> str:
    """Send one alert on one outside channel; a delivery already sent is not sent again.

    A failure is recorded on the delivery and retried (RetryLater); on the `last_attempt` it is dead.
    """
    delivery = db.session.get(AlertDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status == "sent":
        return "skipped"
    alert = db.session.get(Alert, delivery.alert_id)
    recipient = db.session.get(User, alert.recipient_id)
    try:
        SENDERS[delivery.channel](alert, recipient, delivery)
    except PushGone as gone:
        # The subscription or token is dead for good: forget the device, do not retry.
        log.info("push delivery %s: device %s is gone (%s); removed", delivery.id, delivery.device_id, gone)
        if delivery.device_id is not None:
            forget_gone_device(delivery.device_id)
        delivery.attempts += 1
        delivery.status, delivery.last_error = "dead", f"gone: {gone}"[:2000]
        return "gone"
    except Exception as exc:  # noqa: BLE001 - recorded on the delivery; the job retries with backoff
        delivery.attempts += 1
        delivery.last_error = repr(exc)[:2000]
        if last_attempt:
            delivery.status = "dead"
        raise RetryLater(f"{delivery.channel} delivery {delivery.id} failed: {exc!r}") from exc
    delivery.attempts += 1
    delivery.status, delivery.delivered_at, delivery.last_error = "sent", utcnow(), None
    return "sent"


def _district_names() -> dict[str, dict[str, str]]:
    """The names of the region's districts by language (a dozen rows of reference data)."""
    return {d.code: {"ru": d.name_ru, "kk": d.name_kk, "en": d.name_en} for d in db.session.scalars(select(District))}


def _link(alert: Alert) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    path = {"inspection": "inspections", "saving": "savings", "site": "sites"}.get(alert.subject_type)
    return f"{base}/{path}/{alert.subject_id}" if path else base


def _send_email(alert: Alert, recipient: User, _delivery: AlertDelivery) -> None:
    language = recipient.language
    text = render_message(alert.kind, alert.params, language, _district_names())
    body = f"{text}\n\n{_link(alert)}\n"
    channels.send_email(
        smtp_url=current_app.config["SMTP_URL"], sender=current_app.config["SMTP_FROM"], to=recipient.email,
        subject=render_subject(alert.kind, language, alert.params), body=body,
        message_id=f"<alert-{alert.id}@volunteer-monitor>",
    )


def webhook_payload(alert: Alert, recipient: User) -> dict:
    """What the webhook receives: the alert, its text in the recipient's language, and a link."""
    return {
        "id": str(alert.id),
        "kind": alert.kind,
        "created_at": format_utc(alert.created_at),
        "recipient": {"id": str(recipient.id), "role": recipient.role, "language": recipient.language,
                      "email": recipient.email, "phone": recipient.phone},
        "subject": {"type": alert.subject_type, "id": alert.subject_id},
        "message": render_message(alert.kind, alert.params, recipient.language, _district_names()),
        "link": _link(alert),
        "params": alert.params,
    }


def _send_webhook(alert: Alert, recipient: User, delivery: AlertDelivery) -> None:
    channels.post_webhook(
        url=current_app.config["ALERT_WEBHOOK_URL"], secret=current_app.config.get("ALERT_WEBHOOK_SECRET", ""),
        payload=webhook_payload(alert, recipient), timestamp=int(time.time()), delivery_id=str(delivery.id),
    )


def push_payload(alert: Alert, recipient: User) -> dict:
    """What a push notification carries: a title and text in the recipient's language, and where to open it."""
    language = recipient.language
    page = "/app/" if recipient.role == "volunteer" else "/console/"
    return {"title": render_subject(alert.kind, language),
            "body": render_message(alert.kind, alert.params, language, _district_names()),
            "url": page, "alert_id": str(alert.id), "kind": alert.kind,
            "subject_type": alert.subject_type, "subject_id": alert.subject_id}


def _device_push(delivery: AlertDelivery) -> dict:
    device = db.session.get(Device, delivery.device_id) if delivery.device_id is not None else None
    if device is None:
        raise PushGone("the device was unregistered")
    return device.push


def _send_web_push(alert: Alert, recipient: User, delivery: AlertDelivery) -> None:
    vapid = web_push_vapid()
    if vapid is None:
        raise RuntimeError("Web Push is no longer configured (VAPID_PRIVATE_KEY)")
    send_web_push(subscription=_device_push(delivery), payload=push_payload(alert, recipient), vapid=vapid,
                  subject=current_app.config["VAPID_SUBJECT"])


def _send_fcm(alert: Alert, recipient: User, delivery: AlertDelivery) -> None:
    credentials_file = fcm_credentials_file()
    if credentials_file is None:
        raise RuntimeError("FCM is no longer configured (FCM_CREDENTIALS_FILE)")
    send_fcm(token=_device_push(delivery)["token"], payload=push_payload(alert, recipient),
             credentials_file=credentials_file)


SENDERS = {"email": _send_email, "webhook": _send_webhook, "web_push": _send_web_push, "fcm": _send_fcm}


def list_alerts(*, user: User, unread: bool, limit: int, cursor: str | None):
    """The user's own alerts, newest first (only unread ones when asked)."""
    stmt = select(Alert).where(Alert.recipient_id == user.id)
    if unread:
        stmt = stmt.where(Alert.read_at.is_(None))
    return keyset_page(stmt, key_columns=[Alert.id], limit=limit, cursor=cursor)


def mark_alert_read(*, user: User, alert_id: str) -> Alert:
    """Mark one of the user's alerts read; reading it again changes nothing. 404 for anyone else's."""
    alert = None
    if (key := parse_id(alert_id)) is not None:
        alert = db.session.scalars(
            select(Alert).where(Alert.id == key, Alert.recipient_id == user.id).with_for_update()
        ).one_or_none()
    if alert is None:
        raise NotFound()
    if alert.read_at is None:
        alert.read_at = utcnow()
        record_event(action="alert.read", object_type="alert", object_id=alert.id, before={"read_at": None},
                     after={"read_at": format_utc(alert.read_at)})
    db.session.commit()
    return alert


def render_for_reader(alerts: list[Alert], language: str) -> list[dict]:
    """The alerts as the inbox answers them, their messages in the reader's language."""
    names = _district_names() if alerts else {}
    return [
        {"id": alert.id, "kind": alert.kind, "created_at": alert.created_at, "read_at": alert.read_at,
         "subject": {"type": alert.subject_type, "id": alert.subject_id},
         "message": render_message(alert.kind, alert.params, language, names)}
        for alert in alerts
    ]


def count_unread(*, user: User) -> int:
    """How many of the user's alerts are unread (the inbox badge)."""
    return db.session.scalar(select(func.count()).select_from(Alert).where(
        Alert.recipient_id == user.id, Alert.read_at.is_(None)))
