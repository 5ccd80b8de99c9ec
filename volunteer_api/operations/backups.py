"""Backups that have been restored: the database and the photo originals, with a manifest of sha256 sums.

`back_up(to)` writes into an empty directory:
- the database, consistently: `pg_dump --format=custom` on PostgreSQL (one snapshot), the online backup
  API on SQLite (a consistent copy while the service writes);
- then every photo original the database refers to, read from the photo store (local files or S3).
  Originals are written before the row that names them commits and are never changed, so every photo
  of the dump is in the store by then;
- `manifest.json`: the backend, the schema revision and the sha256 of every file.

`restore(source)` checks every sum first, refuses a database or photo store that is not empty, loads
the database (`pg_restore`, or the backup API), copies the originals, and then checks what a restore
must give back: the audit chain verifies, every photo's bytes match their sha256, and the stored totals
equal a recompute.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from ..audit.services import verify_chain
from ..database import db
from ..inspections.models import Photo
from ..inspections.photos import original_key
from ..photo_storage import photo_storage
from ..savings.models import SavingsTotal
from ..savings.totals import recompute_totals
from ..timestamps import format_utc, utcnow

MANIFEST = "manifest.json"
FORMAT = 1
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
PHOTOS = "photos"
BATCH = 1000
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that must not go on; the message says why."""


@dataclass
class RestoreReport:
    audit: dict
    photos_checked: int
    photos_bad: list[str] = field(default_factory=list)
    totals_differ: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.audit.get("ok", False) and not self.photos_bad and not self.totals_differ


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return _sha256_of_stream(handle)


def _sha256_of_stream(handle) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _backend() -> str:
    return db.engine.dialect.name


def _libpq_environment() -> dict:
    """pg_dump/pg_restore reach the configured database through PG* variables (no password on a command line)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    variables = {"PGHOST": url.host, "PGPORT": url.port and str(url.port), "PGUSER": url.username,
                 "PGPASSWORD": url.password, "PGDATABASE": url.database}
    return {**os.environ, **{name: value for name, value in variables.items() if value}}


def _run(command: list[str]) -> None:
    result = subprocess.run(command, env=_libpq_environment(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip() or result.returncode}")


def _sqlite_path() -> Path:
    return Path(make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while another connection writes."""
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with writer:
            reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def back_up(to: Path) -> dict:
    """Write a backup of the database and the photo originals into `to` (new or empty); returns the manifest."""
    to = Path(to)
    if to.exists() and any(to.iterdir()):
        raise BackupError(f"{to} is not empty: a backup goes into a new directory")
    to.mkdir(parents=True, exist_ok=True)
    started = utcnow()
    backend = _backend()
    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    if backend == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={to / PG_DUMP}"])
        database_file = PG_DUMP
    else:
        db.session.remove()
        _sqlite_copy(_sqlite_path(), to / SQLITE_COPY)
        database_file = SQLITE_COPY
    files = {database_file: _sha256_of(to / database_file)}
    # After the dump: every photo it names was on disk before its row committed (originals never change).
    photos = 0
    for sha256 in _photo_digests():
        try:
            original = photo_storage().open(original_key(sha256))
        except FileNotFoundError:
            raise BackupError(f"photo {sha256} is in the database but not in the photo store") from None
        relative = f"{PHOTOS}/{sha256[:2]}/{sha256}"
        (to / relative).parent.mkdir(parents=True, exist_ok=True)
        with original.file as source, (to / relative).open("wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
        if _sha256_of(to / relative) != sha256:
            raise BackupError(f"photo {sha256}: the stored bytes do not match their sha256")
        files[relative] = sha256
        photos += 1
    manifest = {"format": FORMAT, "backend": backend, "schema_revision": revision, "started_at": format_utc(started),
                "finished_at": format_utc(utcnow()), "photos": photos, "files": files}
    (to / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def _photo_digests():
    """Each distinct sha256 of the photos table, by keyset (no whole table in memory)."""
    last = ""
    while True:
        batch = db.session.scalars(
            select(Photo.sha256).where(Photo.sha256 > last).group_by(Photo.sha256).order_by(Photo.sha256).limit(BATCH)
        ).all()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1]


def read_manifest(source: Path) -> dict:
    """The backup's manifest, once every file it lists matches its sha256."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} has no readable {MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for relative, sha256 in manifest["files"].items():
        path = source / relative
        if not path.is_file() or _sha256_of(path) != sha256:
            raise BackupError(f"{relative} is missing or does not match the manifest's sha256")
    return manifest


def _refuse_unless_empty() -> None:
    tables = inspect(db.engine).get_table_names()
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables): restore into a new, empty database")
    store = photo_storage()
    if not store.is_empty():
        raise BackupError(f"the photo store {store} is not empty: restore into a new, empty one")


def restore(source: Path) -> RestoreReport:
    """Restore a backup into an empty database and photo store, then check it; returns what the checks found."""
    source = Path(source)
    manifest = read_manifest(source)
    if manifest["backend"] != _backend():
        raise BackupError(f"a {manifest['backend']} backup cannot be restored into {_backend()}")
    _refuse_unless_empty()
    db.session.remove()
    if manifest["backend"] == "postgresql":
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              f"--dbname={_libpq_environment()['PGDATABASE']}", str(source / PG_DUMP)])
    else:
        db.engine.dispose()
        _sqlite_copy(source / SQLITE_COPY, _sqlite_path())
    db.engine.dispose()  # connections opened before the restore knew no tables
    store = photo_storage()
    for relative, sha256 in manifest["files"].items():
        if relative.startswith(f"{PHOTOS}/"):
            store.put(original_key(sha256), (source / relative).read_bytes())  # one original (≤ 10 MB) at a time
    return check_restored()


def check_restored() -> RestoreReport:
    """What a restored service must give back: a verifying chain, intact photos, totals equal to a recompute."""
    audit = verify_chain()
    checked, bad = 0, []
    for sha256 in _photo_digests():
        try:
            with photo_storage().open(original_key(sha256)).file as stored:
                intact = _sha256_of_stream(stored) == sha256
        except FileNotFoundError:
            intact = False
        if not intact:
            bad.append(sha256)
        checked += 1
    differ = _totals_that_differ_from_a_recompute()
    return RestoreReport(audit=audit, photos_checked=checked, photos_bad=bad, totals_differ=differ)


def _stored_figures() -> dict:
    rows = db.session.execute(select(SavingsTotal.scope, SavingsTotal.key, SavingsTotal.approved_tiyn,
                                     SavingsTotal.approved_count, SavingsTotal.pending_tiyn,
                                     SavingsTotal.pending_count))
    return {(row.scope, row.key): tuple(row[2:]) for row in rows}


def _totals_that_differ_from_a_recompute() -> list[str]:
    """The keys whose stored figures a fresh recompute changes (the recompute itself is rolled back)."""
    stored = _stored_figures()
    try:
        recompute_totals()
        fresh = _stored_figures()
    finally:
        db.session.rollback()
    return sorted(f"{scope}:{key}" for scope, key in stored.keys() | fresh.keys()
                  if stored.get((scope, key)) != fresh.get((scope, key)))
