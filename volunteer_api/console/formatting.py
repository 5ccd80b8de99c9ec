"""How the console shows amounts and times: tenge as `1 250 000,50 ₸` (ru, kk), times in Asia/Almaty."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo


from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal
from flask_babel import get_locale

from ..money import TIYN_PER_KZT
from ..timestamps import utcnow

LOCAL_TIME = ZoneInfo("Asia/Almaty")  # UTC+5 for the whole country since March 2024


def tenge(tiyn: int | None) -> str:
    """Integer tiyn as tenge with two decimals and the ₸ sign, grouped the way the language writes it."""
    if tiyn is None:
        return "—"
    amount = Decimal(int(tiyn)) / TIYN_PER_KZT
    return f"{format_decimal(amount, format='#,##0.00', locale=str(get_locale()))}\u00a0₸"


# Day, month in the language's words, year, and the time to the minute: `14 мая 2026 г., 10:30`.
DATE_TIME = "d MMM y, HH:mm"


def local_time(moment: datetime | None, pattern: str = DATE_TIME) -> str:
    """An aware UTC time in Almaty, in the language's own words."""
    if moment is None:
        return "—"
    return format_datetime(moment.astimezone(LOCAL_TIME), format=pattern, locale=str(get_locale()))


def duration(span: timedelta) -> str:
    """A span of time in words, to the minute (`3 часа`, `2 күн`)."""
    return format_timedelta(abs(span), granularity="minute", threshold=1.1, locale=str(get_locale()))


def local_iso(moment: datetime | None) -> str:
    """The machine-readable form for <time datetime=...>."""
    return moment.astimezone(LOCAL_TIME).isoformat(timespec="minutes") if moment else ""


def local_input_now() -> str:
    """Now in Almaty as an `<input type=datetime-local step=1>` value (the default of a form's time field), to
    the second, rounded up: a resolution may not precede the confirmation made a moment before."""
    return (utcnow() + timedelta(seconds=1)).astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M:%S")


def init_app(app) -> None:
    app.jinja_env.filters.update(tenge=tenge, local_time=local_time, local_iso=local_iso)
