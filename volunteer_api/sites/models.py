from datetime import date, datetime

from sqlalchemy import BigInteger, Date, FetchedValue, Float, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

SITE_KINDS = ("school", "kindergarten", "hospital", "clinic", "sports", "culture", "housing", "road", "water", "other")
SITE_STATUSES = ("planned", "under_construction", "suspended", "completed")


class Site(db.Model):
    """A social-construction object paid from the state budget."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(choice(*SITE_KINDS, name="site_kind"))
    district: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geofence_radius_m: Mapped[int] = mapped_column(Integer, default=300)
    budget_tiyn: Mapped[int] = mapped_column(BigInteger)
    contractor: Mapped[str | None] = mapped_column(String(300))
    contract_number: Mapped[str | None] = mapped_column(String(100))
    planned_completion: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(choice(*SITE_STATUSES, name="site_status"), default="under_construction")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A monotonically increasing change number, so /sync can hand out a keyset cursor over changes.
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The writing transaction's id, stamped by the database with change_seq (change_numbers.py,
    # migration 0009_sync_xid_stamps).
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), server_onupdate=FetchedValue())

    __table_args__ = (
        # The near-me search prefilters on a bounding box over these.
        db.Index("ix_sites_lat_lon", "lat", "lon"),
        db.Index("ix_sites_district_status_id", "district", "status", "id"),
        db.Index("ix_sites_status_id", "status", "id"),
        db.Index("ix_sites_change_position", "change_xid", "change_seq"),
    )

    @property
    def location(self) -> dict:
        return {"lat": self.lat, "lon": self.lon}
