"""Money is integer tiyn (1 KZT = 100 tiyn) from the edge to the database; no float ever touches it."""
from flask_babel import lazy_gettext as _l
import re

from marshmallow import ValidationError, fields
from sqlalchemy import Numeric, String
from sqlalchemy.types import TypeDecorator

TIYN_PER_KZT = 100
MAX_KZT = 1_000_000_000_000
MAX_TIYN = MAX_KZT * TIYN_PER_KZT
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,2}))?")  # fullmatch: `$` would let "100.00\n" through


def format_tiyn(tiyn: int) -> str:
    """1250000 tiyn → "12500.00"."""
    sign = "-" if tiyn < 0 else ""
    whole, fraction = divmod(abs(int(tiyn)), TIYN_PER_KZT)
    return f"{sign}{whole}.{fraction:02d}"


def parse_kzt(value) -> int:
    """A request amount (a "12500.50" string or a JSON integer of tenge) → tiyn. Raises ValueError."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(_l("Send the amount as a string with two decimals or an integer of tenge, never a float."))
    if isinstance(value, int):
        tiyn = value * TIYN_PER_KZT
    elif isinstance(value, str):
        match = _AMOUNT.fullmatch(value)
        if not match:
            raise ValueError(_l("An amount looks like \"1250000.00\": digits, at most two decimals."))
        tiyn = int(match.group(1)) * TIYN_PER_KZT + int((match.group(2) or "0").ljust(2, "0"))
    else:
        raise ValueError(_l("An amount is a string such as \"1250000.00\" or an integer of tenge."))
    if tiyn <= 0:
        raise ValueError(_l("The amount must be greater than zero."))
    if tiyn > MAX_TIYN:
        raise ValueError(_l("The amount must not exceed 1 000 000 000 000 KZT."))
    return tiyn


class KZT(fields.Field):
    """Tenge at the edge ("1250000.00" out; string or integer in), integer tiyn inside."""

    def __init__(self, **kwargs):
        metadata = {
            "oneOf": [
                {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$", "example": "1250000.00"},
                {"type": "integer", "minimum": 1, "maximum": MAX_KZT},
            ],
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_tiyn(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_kzt(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class ExactTiyn(TypeDecorator):
    """A column of summed tiyn, exact at any size (a total may pass 2^63 tiyn; BIGINT would overflow).

    PostgreSQL: NUMERIC without a precision (arbitrary size). SQLite: its integers stop at 2^63 and its
    NUMERIC affinity turns larger values into floats, so the digits are stored as text, zero-padded to a
    fixed width so that ORDER BY and comparisons of the stored text order the numbers too.
    """

    impl = Numeric
    cache_ok = True
    SQLITE_DIGITS = 40

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.SQLITE_DIGITS))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = int(value)
        return f"{value:0{self.SQLITE_DIGITS}d}" if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)
