"""Keyset pagination: `?limit=&cursor=`, answers `{"items": [...], "next_cursor": ...}`.

A cursor is the sort key of the last item sent, so page 1,000 costs what page 1 costs.
"""
from flask_babel import lazy_gettext as _l
import base64
import binascii
import json
from functools import cache

from marshmallow import Schema, fields, validate
from sqlalchemy import tuple_

from .errors import Invalid
from .extensions import db
from .ids import MAX_BIG_ID
from .schemas import CompiledDumpSchema

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


def encode_cursor(values) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list:
    """The key values a cursor carries, each of the kind expected; 422 for anything this API did not give out.

    A cursor is client input: a forged one must not reach SQL with a string for a BIGINT or a number
    beyond its range.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        values = None
    if not (isinstance(values, list) and len(values) == len(kinds) and all(map(_fits, values, kinds))):
        raise Invalid(errors={"cursor": [str(_l("Not a cursor this list gave out."))]})
    return values


def _fits(value, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_BIG_ID
    return kind is str and isinstance(value, str) and len(value) <= 256


def keyset_page(stmt, *, key_columns, limit: int, cursor: str | None, descending: bool = True,
                as_rows: bool = False):
    """Run `stmt` ordered by key_columns; return (rows, next_cursor).

    key_columns must end with a unique column (the id) so the order is total. Key values in the cursor
    are ints or strings; store times as their ISO text via a string column or use ids. The rows are the
    objects of the one entity `stmt` selects or, with `as_rows`, the result's rows (a select of columns).
    """
    if cursor:
        last = decode_cursor(cursor, tuple(c.type.python_type for c in key_columns))
        key = tuple_(*key_columns) if len(key_columns) > 1 else key_columns[0]
        bound = tuple_(*last) if len(key_columns) > 1 else last[0]
        stmt = stmt.where(key < bound if descending else key > bound)
    order = [c.desc() if descending else c.asc() for c in key_columns]
    result = db.session.execute(stmt.order_by(*order).limit(limit + 1))
    rows = (result if as_rows else result.scalars()).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last_row = rows[-1]
        next_cursor = encode_cursor(getattr(last_row, c.key) for c in key_columns)
    return rows, next_cursor


@cache
def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope for item_schema, named after it in the OpenAPI document."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    # Compiled like the items (a page of them is the hottest answer); a plain schema's items dump as before.
    return type(
        name,
        (CompiledDumpSchema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
    )
