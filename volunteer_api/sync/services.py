"""Change numbers for the phone's offline sync, and the sync itself.

Every change a phone must learn about (a site created or edited, an inspection filed or reviewed, a
savings report filed or decided) stamps its row with a number from one counter shared by the three
tables. `GET /sync?since=N` answers the rows stamped after N, in stamp order, and a cursor for the next call.

The trap is a change numbered N+1 that commits before N: a reader would hand out a cursor past N and N
would never reach the phone. So numbers are taken in commit order: on PostgreSQL a transaction-scoped
advisory lock is held from the moment a transaction takes its number until it commits; on SQLite the
database's single writer lock does the same. Writers serialise only for the short tail of their
transaction, which is why the number must be taken last.
"""
from sqlalchemy import func, select, text, union_all
from sqlalchemy.orm import selectinload

from ..errors import Invalid
from ..extensions import db
from ..inspections.models import Inspection
from ..pagination import decode_cursor, encode_cursor
from ..savings.models import SavingsReport
from ..sites.models import Site

# pg_advisory_xact_lock key: "vm-sync" as an integer, so it collides with no other lock of the app.
CHANGE_LOCK_KEY = 0x766D2D73796E63
CHANGE_SEQUENCE = "sync_change_seq"


def next_change_seq() -> int:
    """A change number for one row: unique across sites, inspections and savings, in commit order.

    Call it inside the transaction that makes the change, after the change is written (it flushes the
    session) and as the last step before `commit()`; set `row.change_seq` to it and commit. On
    PostgreSQL it holds a lock until the transaction ends, so take no other lock after it.
    """
    return reserve_change_seqs(1)[0]


def reserve_change_seqs(count: int) -> list[int]:
    """`count` ascending change numbers for rows written in this transaction (see next_change_seq)."""
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOCK_KEY})
        values = db.session.scalars(
            text(f"SELECT nextval('{CHANGE_SEQUENCE}') FROM generate_series(1, :count)"), {"count": count}
        ).all()
        return sorted(values)
    # SQLite: a write statement takes the database's writer lock (held to commit) before we read the top.
    db.session.execute(text("UPDATE sites SET change_seq = change_seq WHERE 0"))
    tops = union_all(*(select(func.max(model.change_seq).label("top")) for model in (Site, Inspection, SavingsReport)))
    top = db.session.scalar(select(func.max(tops.subquery().c.top))) or 0
    return list(range(top + 1, top + 1 + count))


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
    from ..sites.services import with_counters  # sites imports this module for its change numbers

    with_counters(answer["sites"])
    answer["next_cursor"] = encode_sync_cursor(page[-1][0] if page else after)
    answer["has_more"] = has_more
    return answer
