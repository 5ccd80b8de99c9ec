from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

ALERT_KINDS = ("inspection_flagged", "savings_pending", "escalation", "milestone")
CHANNELS = ("email", "webhook", "web_push", "fcm")
DELIVERY_STATUSES = ("pending", "sent", "dead")


class Alert(db.Model):
    """One message in one recipient's inbox. UNIQUE(event_key, recipient, kind) makes it exactly-once."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(choice(*ALERT_KINDS, name="alert_kind"))
    # What happened, e.g. "inspection:42" or "milestone:5000000000"; one alert per recipient per event.
    event_key: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    # The message is rendered in the reader's language from these parameters.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("event_key", "recipient_id", "kind"),
        db.Index("ix_alerts_recipient_id_id", "recipient_id", "id"),
    )


class AlertDelivery(db.Model):
    """An alert's delivery on one outside channel (push: to one device); each retries on its own.

    Deliveries are only ever queued for alerts the same transaction inserted, so e-mail and webhook
    (no device) are one per alert by construction; the unique key holds it for each device.
    """

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(choice(*CHANNELS, name="alert_channel"))
    status: Mapped[str] = mapped_column(choice(*DELIVERY_STATUSES, name="delivery_status"), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # web_push and fcm: the device it goes to (NULL once the push service said it is gone).
    device_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("devices.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("alert_id", "channel", "device_id"),)
