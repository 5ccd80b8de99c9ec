from datetime import datetime

from sqlalchemy import BigInteger, FetchedValue, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import BigId, choice, db
from ..people.models import User
from ..sites.models import Site
from ..money import ExactTiyn
from ..timestamps import UTCDateTime, utcnow

SAVING_CATEGORIES = (
    "overpricing_prevented",
    "contract_reduced",
    "funds_returned",
    "unjustified_works_removed",
    "other",
)
SAVING_STATUSES = ("pending", "approved", "rejected")
TOTAL_SCOPES = ("overall", "district", "site", "volunteer", "category", "month")


class SavingsReport(db.Model):
    """Budget money a volunteer's monitoring saved, as they report it; counts once approved."""

    __tablename__ = "savings_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36))
    request_hash: Mapped[str] = mapped_column(String(64))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id"))
    district: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(choice(*SAVING_CATEGORIES, name="saving_category"))
    description: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(choice(*SAVING_STATUSES, name="saving_status"), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The writing transaction's id, stamped by the database with change_seq (change_numbers.py,
    # migration 0009_sync_xid_stamps).
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), server_onupdate=FetchedValue())

    # Who filed it and about what, for the summaries; joined by the queries that answer (WITH_SUMMARIES).
    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id], lazy="select", viewonly=True)
    site: Mapped[Site] = relationship(lazy="select", viewonly=True)

    __table_args__ = (
        UniqueConstraint("volunteer_id", "client_uuid"),
        # The lists by volunteer and by site; with the status and the amount included, the totals sum a
        # volunteer or a site from the index alone, in group order (totals.py, migration 0013).
        db.Index("ix_savings_reports_volunteer_id_id", "volunteer_id", "id",
                 postgresql_include=["status", "amount_tiyn"]),
        db.Index("ix_savings_reports_site_id_id", "site_id", "id", postgresql_include=["status", "amount_tiyn"]),
        db.Index("ix_savings_reports_status_id", "status", "id"),
        db.Index("ix_savings_reports_volunteer_change_position", "volunteer_id", "change_xid", "change_seq"),
        # An inspector's list (their districts) and the agency's export (approved, by approval date).
        db.Index("ix_savings_reports_district_status_id", "district", "status", "id",
                 postgresql_include=["amount_tiyn"]),
        db.Index("ix_savings_reports_status_reviewed_at_id", "status", "reviewed_at", "id",
                 postgresql_include=["amount_tiyn"]),
        # With the amount included, the totals job sums a district, category or month from the index
        # alone (PostgreSQL index-only scans) instead of fetching ~100,000 scattered rows (totals.py).
        db.Index("ix_savings_reports_category_status", "category", "status", postgresql_include=["amount_tiyn"]),
    )


class SavingsTotal(db.Model):
    """A total the workers computed: one row per (scope, key), e.g. ("district", "taraz")."""

    __tablename__ = "savings_totals"

    scope: Mapped[str] = mapped_column(choice(*TOTAL_SCOPES, name="total_scope"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_tiyn: Mapped[int] = mapped_column(ExactTiyn, default=0)
    approved_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_tiyn: Mapped[int] = mapped_column(ExactTiyn, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavingsMilestone(db.Model):
    """A threshold of the approved total that was crossed; the primary key makes its alert once-only."""

    __tablename__ = "savings_milestones"

    threshold_tiyn: Mapped[int] = mapped_column(ExactTiyn, primary_key=True, autoincrement=False)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    total_tiyn: Mapped[int] = mapped_column(ExactTiyn)
