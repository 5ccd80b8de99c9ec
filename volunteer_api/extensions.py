"""The Flask extensions, created unbound and initialised by the application factory."""
from flask import request
from flask_babel import Babel
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import BigInteger, Enum, Integer, MetaData, update
from sqlalchemy.orm import DeclarativeBase
from werkzeug.routing import BaseConverter

from .openapi import ProblemResponsesPlugin

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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")
# CSRF for the console's cookie session only (WTF_CSRF_CHECK_DEFAULT=False; the console calls protect()).
csrf = CSRFProtect()


class ProblemApi(Api):
    """flask-smorest's Api, with its error handler replaced by ours (RFC 9457, see errors.py)."""

    # A "default" response would make every status conform; we document the real ones.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Leave error handling to volunteer_api.errors, registered by the factory."""


api = ProblemApi(spec_kwargs={"extra_plugins": [ProblemResponsesPlugin()]})


class IdConverter(BaseConverter):
    """`<id:name>` in a route: ASCII digits only (parse_id checks the range).

    Without it `/volunteers/import` would also match `/volunteers/<volunteer_id>`, so GET on it would
    reach the read view and OPTIONS would advertise methods the import does not have.
    """

    regex = "[0-9]+"


api.register_converter(IdConverter, lambda _converter: {"type": "string", "pattern": "^[0-9]+$"})


def client_address() -> str:
    """The caller's address as the WSGI server saw it (behind a proxy, configure ProxyFix)."""
    return request.remote_addr or "unknown"

# Big integer ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
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
