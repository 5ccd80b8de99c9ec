from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

ROLES = ("admin", "inspector", "volunteer")


def fold_name(text: str) -> str:
    """A name as the search compares it: casefolded (Cyrillic and Kazakh letters too, which SQLite's lower()
    and LIKE leave alone), ё as е, runs of spaces as one."""
    return " ".join(text.casefold().replace("ё", "е").split())


class User(db.Model):
    """An account: an administrator, an inspector of the agency or a volunteer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[str] = mapped_column(choice(*ROLES, name="user_role"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # fold_name(full_name), kept by the validator below: the name search compares this on both backends
    # (a trigram index on PostgreSQL serves `LIKE '%part%'`).
    search_name: Mapped[str] = mapped_column(String(400), default="", server_default="")
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(choice(*LANGUAGES, name="user_language"), default=DEFAULT_LANGUAGE)
    # Volunteers only: their district and the badge number printed on their card.
    district: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    badge_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The database-backed lockout: it holds when the rate limiter's Redis is down or per process.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A password the server generated (registration, reset) is to be replaced by one the person chose.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # Loaded on first use (inspectors only): every request loads its user, most are volunteers.
    inspector_districts: Mapped[list["InspectorDistrict"]] = relationship(
        cascade="all, delete-orphan", lazy="select", order_by="InspectorDistrict.district"
    )

    __table_args__ = (
        db.Index("ix_users_role_district_id", "role", "district", "id"),
        db.Index("ix_users_search_name", "search_name", postgresql_using="gin",
                 postgresql_ops={"search_name": "gin_trgm_ops"}),
    )

    @validates("full_name")
    def _keep_search_name(self, _key, value):
        self.search_name = fold_name(value or "")
        return value

    @property
    def districts(self) -> list[str]:
        return [link.district for link in self.inspector_districts]

    def covers_district(self, district: str) -> bool:
        """Whether this user may review work in the district (admins cover every district)."""
        return self.role == "admin" or (self.role == "inspector" and district in self.districts)


class InspectorDistrict(db.Model):
    """An inspector is assigned to review (and be alerted about) one district."""

    __tablename__ = "inspector_districts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    district: Mapped[str] = mapped_column(ForeignKey("districts.code"), primary_key=True)

    __table_args__ = (db.Index("ix_inspector_districts_district", "district"),)

