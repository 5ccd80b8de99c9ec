"""The database: the declarative base and the SQL primitives every domain shares.

Column types (`BigId`, `choice`), the dialect's INSERT ... ON CONFLICT, a conditional status change,
and one transaction-scoped lock. The rules that use them live in the domains.
"""
import sqlite3

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Enum, Integer, MetaData, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# A naming convention from the first migration on, so Alembic can drop constraints on SQLite too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The Flask-SQLAlchemy extension object (re-exported by extensions.py), made here beside its Base.
db = SQLAlchemy(model_class=Base)

# Big integer ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def choice(*values: str, name: str) -> Enum:
    """A non-native enum (a VARCHAR with a CHECK): new values need no ALTER TYPE."""
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=max(map(len, values)))


def change_status_once(model, row_id: int, *, from_status: str, **values) -> bool:
    """UPDATE a row only while it still has `from_status`; False when another request changed it first.

    The WHERE on the status lets the database decide between concurrent reviews, not an earlier read.
    """
    result = db.session.execute(
        update(model).where(model.id == row_id, model.status == from_status).values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def commit_keeping_loaded_state() -> None:
    """Commit without expiring the session's objects.

    For a response dumped from rows this transaction just wrote in full: their attributes are what was
    written, so reloading them after commit would only cost round trips.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def advisory_lock(key: int, *, sqlite_table: str) -> None:
    """Hold the lock `key` until the current transaction ends, so one holder at a time runs what follows.

    PostgreSQL: `pg_advisory_xact_lock(key)` — never a session lock: behind PgBouncer in transaction mode
    the server connection goes to another client at commit, and a session lock would go with it. SQLite
    has a single writer lock for the whole database:
    a write to `sqlite_table` that changes nothing takes it now (a later writer waits, busy_timeout)
    instead of at the transaction's first real write, after its reads.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        db.session.execute(text(f"UPDATE {sqlite_table} SET rowid = rowid WHERE 0"))


def dialect_insert():
    """The INSERT construct of the session's database: both PostgreSQL's and SQLite's have ON CONFLICT."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_ignoring_duplicates(model, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING in the current transaction; returns how many rows were new.

    The exactly-once primitive: a unique key decides, so a job that runs twice inserts nothing twice.
    """
    if not rows:
        return 0
    result = db.session.execute(dialect_insert()(model).values(rows).on_conflict_do_nothing())
    return result.rowcount or 0


def insert_new_returning(model, rows: list[dict], column) -> list:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `column`: the values of the rows that were new."""
    if not rows:
        return []
    return list(db.session.scalars(dialect_insert()(model).values(rows).on_conflict_do_nothing().returning(column)))


def insert_unless_duplicate(model, values: dict):
    """INSERT one row unless a unique key already holds it; returns the new ORM object, or None.

    One statement: a concurrent insert of the same key makes PostgreSQL wait for it, then do nothing.
    """
    statement = dialect_insert()(model).values(**values).on_conflict_do_nothing().returning(model)
    return db.session.scalars(statement).one_or_none()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys; WAL and a busy timeout so the embedded job thread can write too."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
