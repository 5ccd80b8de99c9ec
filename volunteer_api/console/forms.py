"""Reading the console's forms with the API's own schemas, and showing a service's refusal on the page."""
from datetime import datetime

from marshmallow import ValidationError

from ..errors import DomainError, flatten_errors
from ..i18n import lazy_messages
from ..timestamps import format_utc
from .formatting import LOCAL_TIME


def load_form(schema, data: dict) -> tuple[dict | None, dict]:
    """(the loaded data, {}) or (None, the field errors) — the API's rules, read from a form."""
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        return None, flatten_errors(lazy_messages(exc.messages))


def refusal(exc: DomainError) -> dict:
    """A service's refusal as the page shows it: the message and the fields it names."""
    return {"_message": [str(exc.detail)] if exc.detail else [], **flatten_errors(exc.errors or {})}


def local_input_time(value: str | None) -> str | None:
    """A `<input type=datetime-local>` value (Asia/Almaty wall time) as the API's RFC 3339 text; the text as
    typed when it is no such value (the schema then refuses it in the page's language)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TIME)
    return format_utc(moment)
