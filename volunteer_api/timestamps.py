"""Times are stored in UTC and answered in RFC 3339 with `Z`; device times must carry an offset.

Every time and date a request brings is within YEARS: year 1 or 9999 would overflow on conversion to
UTC or on the next day's midnight (a 500), and nothing the service records lies outside it.
"""
from datetime import date, datetime, timedelta, timezone

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


# Kazakhstan has one time zone, UTC+5, since March 2024 (Asia/Almaty): the days and months people count in.
ALMATY = timezone(timedelta(hours=5), "Asia/Almaty")

YEARS = range(2000, 3000)


def check_year(value: date) -> None:
    """A ValidationError (a 422 on the field) for a time or date outside YEARS."""
    if value.year not in YEARS:
        raise ValidationError(str(_l("Years from %(first)s to %(last)s only.", first=YEARS[0], last=YEARS[-1])))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime in Python on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database; use an aware UTC time")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with `Z`, to the microsecond only when there is one."""
    value = value.astimezone(timezone.utc)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


class RFC3339DateTime(fields.DateTime):
    """A datetime that must carry an offset; normalised to UTC; dumped with `Z`."""

    default_error_messages = {
        "naive": _l("A time needs an offset or Z, e.g. 2026-05-14T10:30:00+05:00."),
        "range": _l("The time is out of range."),
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_utc(value)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise self.make_error("naive")
        check_year(parsed)
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError as exc:  # 0001-01-01T00:00:00+02:00 lies before the first UTC time Python has
            raise self.make_error("range") from exc


class BoundedDate(fields.Date):
    """A calendar date within YEARS."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        check_year(parsed)
        return parsed


def parse_rfc3339(value: str) -> datetime:
    """Parse a query-string time (same rules as the body field)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(str(_l("Not a valid RFC 3339 time."))) from exc
    if parsed.tzinfo is None:
        raise ValidationError(RFC3339DateTime.default_error_messages["naive"])
    check_year(parsed)
    return parsed.astimezone(timezone.utc)
