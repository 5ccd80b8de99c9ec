from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, db
from ..timestamps import UTCDateTime, utcnow


class OpenDataExport(db.Model):
    """An OC4IDS export the workers made: what the public endpoint streams, and how fresh it is."""

    __tablename__ = "open_data_exports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the package's publishedDate
    sha256: Mapped[str] = mapped_column(String(64))  # the ETag
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # Set when its last part is stored: the build commits part by part, so only a completed export is served.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OpenDataExportChunk(db.Model):
    """One part of an export's bytes (a batch of projects), so it is written and streamed a part at a time."""

    __tablename__ = "open_data_export_chunks"

    export_id: Mapped[int] = mapped_column(BigId, ForeignKey("open_data_exports.id", ondelete="CASCADE"),
                                           primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
