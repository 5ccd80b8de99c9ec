from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

REFERRAL_CHANNELS = ("call_centre_1424", "eotinish", "department", "prosecutor")
OUTCOMES = ("fixed", "not_fixed", "unfounded")


class CaseReferral(db.Model):
    """Where a confirmed inspection was referred; the primary key makes it once per case."""

    __tablename__ = "case_referrals"

    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspections.id", ondelete="CASCADE"),
                                               primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(choice(*REFERRAL_CHANNELS, name="referral_channel"))
    case_number: Mapped[str] = mapped_column(String(100))
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseResolution(db.Model):
    """How a confirmed inspection ended; the primary key makes it once per case."""

    __tablename__ = "case_resolutions"

    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspections.id", ondelete="CASCADE"),
                                               primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(choice(*OUTCOMES, name="case_outcome"))
    comment: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutcomeDay(db.Model):
    """The cases of one district confirmed on one day (Asia/Almaty): counts any period sums exactly."""

    __tablename__ = "outcome_days"

    district: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    referred: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    fixed: Mapped[int] = mapped_column(Integer, default=0)


class OutcomeFixDays(db.Model):
    """How many of a district's cases confirmed on `day` were fixed after `days_to_fix` days.

    A median cannot be summed, but a histogram can: the median of any period is read off the summed
    histogram of its days, exactly.
    """

    __tablename__ = "outcome_fix_days"

    district: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    days_to_fix: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cases: Mapped[int] = mapped_column(Integer, default=0)


class OutcomeStamp(db.Model):
    """When a district's outcome figures were last recomputed (the answer's `as_of`)."""

    __tablename__ = "outcome_stamps"

    district: Mapped[str] = mapped_column(String(32), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
