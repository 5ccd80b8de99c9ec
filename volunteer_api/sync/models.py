"""Tombstones for the phones' offline copy: what left a caller's districts, numbered like every change."""
from sqlalchemy import BigInteger, FetchedValue, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, db


class SiteDeparture(db.Model):
    """A site left `district` (moved to another) at change number `change_seq`: its phones must drop it.

    No foreign key to the site: a tombstone outlives what it buries.
    """

    __tablename__ = "site_departures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(BigId)
    district: Mapped[str] = mapped_column(String(32))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    # The writing transaction's id, stamped by the database with change_seq (change_numbers.py,
    # migration 0009_sync_xid_stamps).
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), server_onupdate=FetchedValue())

    __table_args__ = (db.Index("ix_site_departures_district_change_position", "district", "change_xid", "change_seq"),)

    @classmethod
    def record(cls, *, site_id: int, district: str, change_seq: int) -> None:
        """Add to the caller's transaction that the site left `district` with the change numbered `change_seq`."""
        db.session.add(cls(site_id=site_id, district=district, change_seq=change_seq))


class CoverageChange(db.Model):
    """An account started or stopped covering `district` (a volunteer moved, an inspector was reassigned).

    A /sync cursor remembers the last of these it saw (by id): a phone whose cursor predates one
    starts over (the new district's older sites never reached it), and is told to drop the sites of a
    district it no longer covers.
    """

    __tablename__ = "coverage_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    district: Mapped[str] = mapped_column(String(32))

    __table_args__ = (db.Index("ix_coverage_changes_user_id_id", "user_id", "id"),)

    @classmethod
    def record(cls, *, user_id: int, districts) -> None:
        """Add to the caller's transaction that the account started or stopped covering these districts."""
        db.session.add_all(cls(user_id=user_id, district=code) for code in sorted(set(districts)))
