from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, FetchedValue, Float, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import BigId, choice, db
from ..people.models import User
from ..sites.models import Site
from ..timestamps import UTCDateTime, utcnow

SEVERITIES = ("none", "low", "medium", "high", "critical")
INSPECTION_STATUSES = ("submitted", "returned", "confirmed", "dismissed")
# A review decides once: confirmed or dismissed for good, or returned to the volunteer to complete it.
REVIEW_DECISIONS = ("confirmed", "dismissed", "returned")
# Not decided yet: awaiting review, or back with the volunteer to complete (a site's open flags count both).
UNDECIDED_STATUSES = ("submitted", "returned")


class Inspection(db.Model):
    """A volunteer's geotagged inspection of a site, filed from the phone."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36))
    # SHA-256 of the canonical request body: a retry must match it, another body is a 409.
    request_hash: Mapped[str] = mapped_column(String(64))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id"))
    district: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float] = mapped_column(Float)
    mock_location: Mapped[bool] = mapped_column(Boolean, default=False)
    checklist: Mapped[dict] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(choice(*SEVERITIES, name="inspection_severity"))
    notes: Mapped[str | None] = mapped_column(Text)
    distance_m: Mapped[float] = mapped_column(Float)
    on_site: Mapped[bool] = mapped_column(Boolean)
    flagged: Mapped[bool] = mapped_column(Boolean)
    flag_reasons: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(choice(*INSPECTION_STATUSES, name="inspection_status"), default="submitted")
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    # How many times the volunteer resubmitted it after a return: numbers the alerts of each round.
    resubmissions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The writing transaction's id, stamped by the database with change_seq (change_numbers.py,
    # migration 0009_sync_xid_stamps).
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), server_onupdate=FetchedValue())

    # Eager-loaded by the queries that answer with photos (WITH_PHOTOS), not by every load.
    photos: Mapped[list["Photo"]] = relationship(lazy="select", order_by="Photo.id")
    # Who filed it and about what, for the summaries; joined by the queries that answer (WITH_SUMMARIES).
    volunteer: Mapped["User"] = relationship(foreign_keys=[volunteer_id], lazy="select", viewonly=True)
    site: Mapped["Site"] = relationship(lazy="select", viewonly=True)
    # A confirmed inspection is a case (cases/): what was done about it. Loaded with the photos (WITH_PHOTOS).
    referral: Mapped["CaseReferral | None"] = relationship(lazy="select", viewonly=True, uselist=False)
    resolution: Mapped["CaseResolution | None"] = relationship(lazy="select", viewonly=True, uselist=False)

    @property
    def location(self) -> dict:
        return location_of(self)

    @property
    def case(self) -> dict | None:
        return case_of(self.status, self.referral, self.resolution)

    __table_args__ = (
        UniqueConstraint("volunteer_id", "client_uuid"),
        db.Index("ix_inspections_volunteer_id_id", "volunteer_id", "id"),
        db.Index("ix_inspections_site_id_id", "site_id", "id"),
        db.Index("ix_inspections_flagged_status_district_id", "flagged", "status", "district", "id"),
        db.Index("ix_inspections_volunteer_change_position", "volunteer_id", "change_xid", "change_seq"),
        # The outcome figures (confirmed cases of a district) and the sweep for cases left unresolved.
        db.Index("ix_inspections_status_district_reviewed_at", "status", "district", "reviewed_at"),
        # Open flags per site (sites, the map): a small partial index, only the flags awaiting review.
        db.Index("ix_inspections_open_flags_site_id", "site_id",
                 postgresql_where=text("flagged AND status IN ('submitted', 'returned')"),
                 sqlite_where=text("flagged AND status IN ('submitted', 'returned')")),
        # Confirmed violations per site (risk, open data): only the confirmed ones.
        db.Index("ix_inspections_confirmed_site_id", "site_id", postgresql_where=text("status = 'confirmed'"),
                 sqlite_where=text("status = 'confirmed'")),
    )


def location_of(inspection) -> dict:
    """Where the phone says it was, as the API shows it (of an Inspection, or of a row of its table)."""
    return {"lat": inspection.lat, "lon": inspection.lon, "accuracy_m": inspection.accuracy_m,
            "mock": inspection.mock_location}


def case_of(status: str, referral, resolution) -> dict | None:
    """The referral and resolution of a confirmed inspection; None before it is confirmed."""
    if status != "confirmed":
        return None
    return {"referral": referral, "resolution": resolution}


class Photo(db.Model):
    """A photo attached to an inspection; the bytes live under UPLOAD_DIR by their SHA-256."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspections.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_distance_m: Mapped[float | None] = mapped_column(Float)
    # When the camera says it was taken (EXIF), and whether that is more than a day from captured_at.
    exif_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    photo_time_mismatch: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("inspection_id", "sha256"),)

    @property
    def exif_location(self) -> dict | None:
        if self.exif_lat is None or self.exif_lon is None:
            return None
        return {"lat": self.exif_lat, "lon": self.exif_lon, "distance_m": self.exif_distance_m}
