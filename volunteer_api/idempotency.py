"""Filing once per client_uuid: phones on bad networks retry every submission, so a create is idempotent.

The unique (volunteer_id, client_uuid) of the table decides, in one INSERT ... ON CONFLICT DO NOTHING:
concurrent retries wait on the winner's key and then replay what it stored. A retry must carry the same
body (compared by a hash of its canonical JSON); another body under a used uuid is a 409.
"""
import hashlib
import json
from typing import Callable

from sqlalchemy import select

from .errors import Conflict
from .database import db, insert_unless_duplicate
from .timestamps import format_utc


def request_hash(body: dict) -> str:
    """SHA-256 of the loaded body as canonical JSON: equal bodies (the same instant in any offset) hash equal."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_value(value):
    return format_utc(value) if hasattr(value, "astimezone") else str(value)


def file_once(model, values: dict, *, volunteer_id: int, client_uuid: str, body: dict, conflict: Callable[[], Conflict]):
    """Insert the volunteer's row for client_uuid unless it exists; returns (row, created).

    `values` are the row's other columns; `conflict()` is raised when the uuid was used for another body.
    """
    row = insert_unless_duplicate(model, {**values, "volunteer_id": volunteer_id, "client_uuid": client_uuid,
                                          "request_hash": request_hash(body)})
    if row is not None:
        return row, True
    return filed_before(model, volunteer_id=volunteer_id, client_uuid=client_uuid, body=body, conflict=conflict), False


def filed_before(model, *, volunteer_id: int, client_uuid: str, body: dict, conflict: Callable[[], Conflict], options=()):
    """The row an earlier request with this body filed, or None when the uuid is unused; `conflict` when the
    uuid was used for another body (`conflict()`)."""
    stored = db.session.scalars(
        select(model).options(*options).where(model.volunteer_id == volunteer_id, model.client_uuid == client_uuid)
    ).one_or_none()
    if stored is not None and stored.request_hash != request_hash(body):
        db.session.rollback()
        raise conflict()
    return stored
