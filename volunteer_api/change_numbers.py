"""Change numbers for the phones' offline sync: a write-side primitive of every synced table, and its reader.

Every change a phone must learn about (a site created or edited, an inspection filed or reviewed, a
savings report filed or decided, a site leaving a district) stamps its row with a *change position*:
`(change_xid, change_seq)`. `GET /sync` (sync/services.py) answers the rows whose position is past the
phone's cursor, in position order, and hands out the last position it sent as the next cursor.

The trap is a change that commits late: if a reader could hand out a cursor past a position whose
transaction has not committed yet, that change would land behind the phone's cursor and never reach it.

PostgreSQL — no lock on the write path:
- `change_seq` comes from the sequence `sync_change_seq` (`nextval`: never waits, unique across the
  tables; it orders the rows one transaction stamps).
- `change_xid` is the writing transaction's id, `pg_current_xact_id()`, set by the trigger
  `sync_stamp_change_xid` whenever a row is inserted or its `change_seq` is set (migration
  0009_sync_xid_stamps), so no write path can stamp one without the other.
- The reader answers only positions whose transaction id is below its *horizon* H (sync_horizon): the
  oldest transaction id of *this database* still running, or failing any, the snapshot's xmax X (one
  past the newest id that had ended when the reader came; every id from X on counts as running). This
  is `pg_snapshot_xmin(pg_current_snapshot())` narrowed to this database: the cluster-wide xmin would
  hold every phone back behind a long write in another database. The running ids are read from pg_stat_activity (`backend_xid`, shown to every role)
  and pg_prepared_xacts, after X was read.

Why a phone can neither skip nor repeat a change:
1. Below the horizon the set is final. A transaction of this database with an id below X either ended
   before the running ids were read, or was still running then and so is listed (it holds its id from
   its first write to its end): H is at most its id. So every transaction with an id below H has ended
   (committed or rolled back) before the row queries that follow run, and they see all its rows (READ
   COMMITTED, the app's isolation: each statement takes a new snapshot; in a transaction that keeps one
   snapshot, sync_horizon answers that snapshot's own xmin instead). Ids are handed out in increasing
   order, so a transaction with no id yet gets one above every id handed out so far, at or above
   X >= H: no row can ever appear at a position below a horizon once it was read. (A row rewritten
   later moves to its new, higher position: that is its next change, sent again — the newest state —
   as it must be.) Only this database's transactions can write its tables.
2. So a cursor is always the position of a row that was below a horizon, and every row that appears
   later has a higher position: paging forward from the cursor never passes over a change that
   committed late — that change was above the horizon (its transaction was still running) and is sent
   once the horizon has moved past it.
3. A position is unique (the sequence; a site's departure shares its site's, and a caller is sent one of
   the two) and a row keeps it until it changes again; each page starts strictly after the last
   position sent: nothing is sent twice.
The order is transaction-id order (the order in which writers first wrote), not commit order. The phones
need every change once and a row's newer state after its older one, which this order gives: by 1, a
row's next change lands above every cursor handed out before it committed, whatever the two writers'
ids. The price: one transaction of this database kept open (idle in transaction, a long migration)
holds the horizon back, and /sync answers nothing newer until it ends — delayed, never lost. The reader
waits up to HORIZON_WAIT_SECONDS for the writers running when it came (milliseconds each), so a phone
syncing right after a change is not answered a page short. Production should set
`idle_in_transaction_session_timeout`.

SQLite (embedded, one writer at a time): `change_xid` stays 0 and `change_seq` is the top of the tables
plus one, read under the database's single writer lock held until commit; numbers are then in commit
order and the horizon is unbounded. Rows stamped before migration 0009_sync_xid_stamps keep `change_xid` 0 on
both, so a cursor given out before it (a bare change number) still means the same place.
"""
import time

from sqlalchemy import func, select, text, tuple_, union_all

from .database import advisory_lock, db

# SQLite only: the key is unused there; the database's single writer lock is taken (database.advisory_lock).
SQLITE_WRITER_LOCK = 0
CHANGE_SEQUENCE = "sync_change_seq"
CHANGE_COLUMN = "change_seq"
# How long a /sync waits for the writers that were running when it came, and how often it looks.
HORIZON_WAIT_SECONDS = 0.5
HORIZON_POLL_SECONDS = 0.01
# The transactions of this database holding an id now (32-bit here), prepared ones included.
RUNNING_HERE = text(
    "SELECT backend_xid::text::bigint FROM pg_stat_activity"
    " WHERE datname = current_database() AND backend_xid IS NOT NULL"
    " UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()")


def next_change_seq() -> int:
    """A change number for one row: unique across the synced tables.

    Set `row.change_seq` to it in the transaction that makes the change and commit. On PostgreSQL it
    takes no lock (the row's `change_xid` is stamped by the database); on SQLite it takes the writer
    lock, held to the commit.
    """
    return reserve_change_seqs(1)[0]


def change_seq_in_statement():
    """On PostgreSQL, a SQL expression for a change number, to take inside a statement the write runs anyway
    (it needs nothing else: the trigger stamps change_xid); None on SQLite, where next_change_seq must
    run after the row is written."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.nextval(CHANGE_SEQUENCE)
    return None


def reserve_change_seqs(count: int) -> list[int]:
    """`count` ascending change numbers for rows written in this transaction (see next_change_seq)."""
    if db.session.get_bind().dialect.name == "postgresql":
        values = db.session.scalars(
            text(f"SELECT nextval('{CHANGE_SEQUENCE}') FROM generate_series(1, :count)"), {"count": count}
        ).all()
        return sorted(values)
    # SQLite: the writer lock, held to commit, makes the top of the tables safe to read; the flush writes
    # this transaction's own rows first, so they are counted in the top too.
    db.session.flush()
    synced = _synced_tables()
    advisory_lock(SQLITE_WRITER_LOCK, sqlite_table=synced[0].name)
    tops = union_all(*(select(func.max(table.c[CHANGE_COLUMN]).label("top")) for table in synced))
    top = db.session.scalar(select(func.max(tops.subquery().c.top))) or 0
    return list(range(top + 1, top + 1 + count))


def sync_horizon(*, wait_seconds: float = HORIZON_WAIT_SECONDS) -> int | None:
    """The transaction id below which every change is committed for good; None when there is no bound (SQLite).

    Read it before the rows it bounds (see the module's docstring). It waits up to `wait_seconds` for the
    writers of this database that were running when it was called (milliseconds each) to end, so a
    phone syncing right after a change, or beside a background job, is not answered a page short.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    limit, own, oldest_anywhere, isolation = db.session.execute(text(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
        " pg_current_xact_id_if_assigned()::text::bigint,"
        " pg_snapshot_xmin(pg_current_snapshot())::text::bigint, current_setting('transaction_isolation')")).one()
    if isolation != "read committed":
        # One snapshot for the whole transaction, taken before this: only its own xmin bounds what it sees.
        return oldest_anywhere
    deadline = time.monotonic() + wait_seconds
    while True:
        db.session.execute(text("SELECT pg_stat_clear_snapshot()"))  # else the activity is read once per transaction
        running = [_widen(xid, limit) for xid in db.session.scalars(RUNNING_HERE)]
        horizon = min((xid for xid in running if xid is not None), default=limit)
        if horizon in (limit, own) or time.monotonic() >= deadline:
            return horizon
        time.sleep(HORIZON_POLL_SECONDS)


def _widen(xid: int, limit: int) -> int | None:
    """A 32-bit transaction id seen running (pg_stat_activity) as the 64-bit id it is, if it is below `limit`.

    Ids are handed out in order and wrap at 2**32; one running now is less than 2**31 behind `limit`.
    """
    behind = ((limit & 0xFFFFFFFF) - xid) % 2**32
    return limit - behind if 0 < behind < 2**31 else None


def changed_after(model, position: tuple[int, int], horizon: int | None):
    """The WHERE clause of a synced table's rows past `position` and settled below `horizon`."""
    clause = tuple_(model.change_xid, model.change_seq) > tuple_(*position)
    if horizon is not None:
        clause = clause & (model.change_xid < horizon)
    return clause


def change_order(model) -> tuple:
    """The ORDER BY of a synced table's changes: their position."""
    return model.change_xid, model.change_seq


def position_of(row) -> tuple[int, int]:
    return row.change_xid, row.change_seq


def _synced_tables():
    """The tables whose rows carry a change number (sites, inspections, savings reports)."""
    return [table for table in db.metadata.sorted_tables if CHANGE_COLUMN in table.c]
