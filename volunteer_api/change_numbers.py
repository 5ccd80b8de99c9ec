"""Change numbers for the phones' offline sync: a write-side primitive of every synced table.

Every change a phone must learn about (a site created or edited, an inspection filed or reviewed, a
savings report filed or decided) stamps its row's `change_seq` with a number from one counter shared by
those tables; `GET /sync?since=N` (sync/services.py) answers the rows stamped after N.

The trap is a change numbered N+1 that commits before N: a reader would hand out a cursor past N and N
would never reach the phone. So numbers are taken in commit order: on PostgreSQL a transaction-scoped
advisory lock is held from the moment a transaction takes its number until it commits; on SQLite the
database's single writer lock does the same. Writers serialise only for the short tail of their
transaction, which is why the number must be taken last.
"""
from sqlalchemy import func, select, text, union_all

from .database import advisory_lock, db

# pg_advisory_xact_lock key: "vm-sync" as an integer, so it collides with no other lock of the app.
CHANGE_LOCK_KEY = 0x766D2D73796E63
CHANGE_SEQUENCE = "sync_change_seq"
CHANGE_COLUMN = "change_seq"


def next_change_seq() -> int:
    """A change number for one row: unique across the synced tables, in commit order.

    Call it inside the transaction that makes the change, after the change is written (it flushes the
    session) and as the last step before `commit()`; set `row.change_seq` to it and commit. On
    PostgreSQL it holds a lock until the transaction ends, so take no other lock after it.
    """
    return reserve_change_seqs(1)[0]


def reserve_change_seqs(count: int) -> list[int]:
    """`count` ascending change numbers for rows written in this transaction (see next_change_seq)."""
    db.session.flush()
    synced = _synced_tables()
    advisory_lock(CHANGE_LOCK_KEY, sqlite_table=synced[0].name)
    if db.session.get_bind().dialect.name == "postgresql":
        values = db.session.scalars(
            text(f"SELECT nextval('{CHANGE_SEQUENCE}') FROM generate_series(1, :count)"), {"count": count}
        ).all()
        return sorted(values)
    # SQLite has no sequence: the writer lock, held to commit, makes the top of the tables safe to read.
    tops = union_all(*(select(func.max(table.c[CHANGE_COLUMN]).label("top")) for table in synced))
    top = db.session.scalar(select(func.max(tops.subquery().c.top))) or 0
    return list(range(top + 1, top + 1 + count))


def _synced_tables():
    """The tables whose rows carry a change number (sites, inspections, savings reports)."""
    return [table for table in db.metadata.sorted_tables if CHANGE_COLUMN in table.c]
