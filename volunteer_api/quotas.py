"""Daily quotas per account: filings of inspections and savings reports, and photo bytes.

A volunteer's day is the calendar day in Asia/Almaty (the day on their phone's clock), and the quota
resets at midnight there: a refusal's Retry-After points at that midnight. Usage is counted in the
filing's own transaction by one upsert of the (user, day, kind) row, which also serialises concurrent
filings of one account, so they cannot pass the limit together; a refused filing rolls back with its
count. Replays of a filing (the same client_uuid) are not counted: only new rows are. Limits are
DAILY_QUOTAS in config (0: none); RATELIMIT_ENABLED=false turns them off too, for benchmarks.
"""
import math
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Date, ForeignKey, delete
from sqlalchemy.orm import Mapped, mapped_column

from .database import BigId, choice, db, dialect_insert
from .errors import TooManyRequests
from .timestamps import ALMATY, utcnow

QUOTA_KINDS = ("inspections", "savings", "photo_bytes")
# Yesterday's row is kept for a day (a phone near midnight); older rows are deleted by the sweep.
KEEP_DAYS = 2

_REFUSALS = {
    "inspections": _l("The daily limit of %(limit)s inspections is reached. Try again after midnight, Almaty time."),
    "savings": _l("The daily limit of %(limit)s savings reports is reached. Try again after midnight, Almaty time."),
    "photo_bytes": _l("The daily limit of %(limit)s MB of photos is reached. Try again after midnight, Almaty time."),
}


class DailyUsage(db.Model):
    """How much of one daily quota an account used on one day (Almaty calendar)."""

    __tablename__ = "daily_usage"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(choice(*QUOTA_KINDS, name="quota_kind"), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (db.Index("ix_daily_usage_day", "day"),)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ALMATY).date()


def seconds_until_next_local_day(moment: datetime) -> int:
    local = moment.astimezone(ALMATY)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), ALMATY)
    return max(1, math.ceil((midnight - local).total_seconds()))


def use_quota(*, user_id: int, kind: str, amount: int = 1, now: datetime | None = None) -> None:
    """Count `amount` against the account's daily quota in the current transaction; past it, roll back
    and raise 429 with Retry-After until the next Almaty midnight."""
    config = current_app.config
    limit = config["DAILY_QUOTAS"].get(kind, 0)
    if not limit or not config.get("RATELIMIT_ENABLED", True):
        return
    now = now or utcnow()
    table = DailyUsage.__table__
    statement = dialect_insert()(table).values(user_id=user_id, day=local_day(now), kind=kind, amount=amount)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.day, table.c.kind],
        set_={"amount": table.c.amount + statement.excluded.amount},
    ).returning(table.c.amount)
    used = db.session.scalar(statement)
    if used > limit:
        db.session.rollback()
        shown = limit // (1024 * 1024) if kind == "photo_bytes" else limit
        raise TooManyRequests(_REFUSALS[kind] % {"limit": shown},
                              headers={"Retry-After": str(seconds_until_next_local_day(now))})


def forget_old_usage() -> int:
    """Delete the usage of days no quota looks at any more; returns the rows deleted."""
    cutoff = local_day(utcnow()) - timedelta(days=KEEP_DAYS)
    deleted = db.session.execute(delete(DailyUsage).where(DailyUsage.day < cutoff)).rowcount
    db.session.commit()
    return deleted or 0
