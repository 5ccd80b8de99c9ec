"""The phone's offline sync: every change (numbered by change_numbers.py) since the phone's cursor."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..errors import Invalid
from ..extensions import db
from ..inspections.models import Inspection
from ..pagination import decode_cursor, encode_cursor
from ..savings.models import SavingsReport
from ..sites.models import Site
from ..sites.services import with_counters


def encode_sync_cursor(seq: int) -> str:
    return encode_cursor([int(seq)])


def decode_sync_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    (seq,) = decode_cursor(cursor, (int,))
    if not isinstance(seq, int) or seq < 0:
        raise Invalid(errors={"since": ["Not a cursor /sync gave out."]})
    return seq


def sync_changes(*, user, since: str | None, limit: int) -> dict:
    """The sites (of the caller's districts) and the caller's own inspections and savings changed since the cursor."""
    after = decode_sync_cursor(since)
    sites = select(Site).where(Site.change_seq > after)
    if user.role == "volunteer":
        sites = sites.where(Site.district == user.district)
    elif user.role == "inspector":
        sites = sites.where(Site.district.in_(user.districts))
    inspections = (select(Inspection).options(selectinload(Inspection.photos))
                   .where(Inspection.volunteer_id == user.id, Inspection.change_seq > after))
    savings = select(SavingsReport).where(SavingsReport.volunteer_id == user.id, SavingsReport.change_seq > after)

    # Each stream's first limit+1 rows are enough: the first `limit` of the merge can hold no row beyond them.
    streams = {
        name: db.session.scalars(stmt.order_by(model.change_seq).limit(limit + 1)).all()
        for name, model, stmt in (("sites", Site, sites), ("inspections", Inspection, inspections),
                                  ("savings", SavingsReport, savings))
    }
    merged = sorted(((row.change_seq, name, row) for name, rows in streams.items() for row in rows),
                    key=lambda item: item[0])
    page, has_more = merged[:limit], len(merged) > limit
    answer = {name: [row for _, kind, row in page if kind == name] for name in streams}
    with_counters(answer["sites"])
    answer["next_cursor"] = encode_sync_cursor(page[-1][0] if page else after)
    answer["has_more"] = has_more
    return answer
