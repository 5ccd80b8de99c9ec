"""Ids as clients see them: opaque strings; ours are positive BIGINTs written in ASCII digits.

One rule everywhere: `parse_id` for a value from a URL, query or body, the `Id` field for a schema,
and the `<id:...>` route converter, so a path, a query and a body reject the same things.
"""
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields
from werkzeug.routing import BaseConverter

MAX_BIG_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """An id from a URL, query or body as an integer, or None when it cannot be one of ours.

    Ids are opaque strings to clients; anything but ASCII digits within BIGINT is simply not found.
    """
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_BIG_ID else None


class Id(fields.String):
    """An id in a body or query: loaded as the string it was (services call `parse_id`), dumped as a string.

    Anything that cannot be one of ours (not ASCII digits, zero, beyond BIGINT) is a 422 on the field.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {"pattern": "^[0-9]+$", "example": "1", **kwargs["metadata"]}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if parse_id(text) is None:
            raise ValidationError(str(_l("Not an id this API gave out.")))
        return text


class IdConverter(BaseConverter):
    """`<id:name>` in a route: ASCII digits only (parse_id checks the range).

    Without it `/volunteers/import` would also match `/volunteers/<volunteer_id>`, so GET on it would
    reach the read view and OPTIONS would advertise methods the import does not have.
    """

    regex = "[0-9]+"
