"""Every site as an OC4IDS 0.9 project (Open Contracting for Infrastructure Data Standard), streamed.

What a project carries: its identifiers, title, sector and type from the OC4IDS codelists, the budget,
the location as a GeoJSON point, the status, the contractor as a party (role `supplier`), and the
monitoring's figures as `metrics` (approved savings; inspections filed and confirmed). Nothing about
any volunteer or inspector is exported.

Amounts are JSON numbers written with their exact two decimals (no float on the way: see `amount`).
Per batch of sites: one query, plain tuples, one orjson call (bench/README.md: where the time went).
The workers make the export on a schedule (OPEN_DATA_EXPORT_INTERVAL_SECONDS) and keep it in parts; the
public endpoint streams the newest, with its sha256 as ETag and the time it was made as Last-Modified.
"""
import hashlib
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterator

import orjson
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, insert, select, update

from ..database import advisory_lock, db
from ..jobs import OutboxJob, enqueue, names
from ..inspections.models import Inspection
from ..money import format_tiyn
from ..sites.models import Site
from ..savings.models import SavingsTotal
from ..sites.services import approved_savings_join
from ..timestamps import format_utc, utcnow
from .models import OpenDataExport, OpenDataExportChunk

OC4IDS_VERSION = "0.9"
BATCH = 2000
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Our site kinds in the projectSector codelist (a subsector comes with its parent code).
SECTORS = {
    "school": ["education"], "kindergarten": ["education"], "hospital": ["health"], "clinic": ["health"],
    "sports": ["cultureSportsAndRecreation"], "culture": ["cultureSportsAndRecreation"],
    "housing": ["socialHousing"], "road": ["transport", "transport.road"], "water": ["waterAndWaste"],
    "other": ["governance"],
}
# Our site statuses in the projectStatus codelist (it has no "suspended": a halted site is still in implementation).
STATUSES = {"planned": "preparation", "under_construction": "implementation", "suspended": "implementation",
            "completed": "completion"}


def amount(tiyn: int) -> orjson.Fragment:
    """Tiyn as the exact JSON number of tenge (1250000.55, written from the digits, never through a float)."""
    return orjson.Fragment(format_tiyn(tiyn))


@lru_cache(maxsize=4096)  # contractors build many sites: the same party, hashed once
def _contractor_party(name: str) -> dict:
    # A stable id for the name within this publication (no registry identifier is recorded for contractors).
    return {"id": "contractor-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12], "name": name,
            "roles": ["supplier"]}


# What every project says the same way, encoded once.
_APPROVED_SAVINGS = {
    "id": "approvedSavings", "title": "Budget savings approved by inspectors",
    "description": "Budget money whose misuse the volunteers' monitoring prevented, as verified by the Agency's "
                   "inspectors."}
_INSPECTIONS = {
    "id": "inspections", "title": "Volunteer inspections",
    "description": "Geotagged inspections of the site filed by volunteers, and those an inspector confirmed as "
                   "violations."}
_TYPE = orjson.Fragment(b'"construction"')
_SECTORS = {kind: orjson.Fragment(orjson.dumps(codes)) for kind, codes in SECTORS.items()}


def project(site_id: int, title: str, kind: str, district: str, address: str | None, lat: float, lon: float,
            budget_tiyn: int, contractor: str | None, status: str, updated_at: datetime, inspections: int,
            confirmed: int, approved_tiyn: int, *, prefix: str) -> dict:
    """One site (a row of `projects`' query) as an OC4IDS project."""
    where = {"region": district, "countryName": "Kazakhstan"}
    if address:
        where = {"streetAddress": address, **where}
    entry = {
        "id": f"{prefix}-{site_id}",
        "updated": updated_at,
        "language": "ru",
        "identifiers": [{"id": str(site_id), "scheme": "volunteer-monitor-site"}],
        "title": title,
        "status": STATUSES[status],
        "type": _TYPE,
        "sector": _SECTORS[kind],
        "budget": {"amount": {"amount": amount(budget_tiyn), "currency": "KZT"}},
        "locations": [{"id": "1", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "address": where}],
        "metrics": [
            {**_APPROVED_SAVINGS,
             "observations": [{"id": "total", "value": {"amount": amount(approved_tiyn), "currency": "KZT"}}]},
            {**_INSPECTIONS,
             "observations": [{"id": "filed", "measure": inspections}, {"id": "confirmed", "measure": confirmed}]},
        ],
    }
    if contractor:
        entry["parties"] = [_contractor_party(contractor)]
    return entry


def _inspections_of_site(*conditions):
    # Correlated: one probe per site of the (site_id, id) index, or of the partial index of confirmed ones.
    return (select(func.count()).where(Inspection.site_id == Site.id, *conditions)
            .correlate(Site).scalar_subquery())


def project_batches(*, batch_size: int) -> Iterator[list[tuple]]:
    """Every site with its figures, a keyset batch at a time: one query per batch."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Site.id, Site.name, Site.kind, Site.district, Site.address, Site.lat, Site.lon, Site.budget_tiyn,
                   Site.contractor, Site.status, Site.updated_at, _inspections_of_site(),
                   _inspections_of_site(Inspection.status == "confirmed"),
                   func.coalesce(SavingsTotal.approved_tiyn, 0))
            .outerjoin(SavingsTotal, approved_savings_join())
            .where(Site.id > last_id).order_by(Site.id).limit(batch_size)).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]


def encode(value) -> bytes:
    """Compact UTF-8 JSON; times in UTC with Z (to the microsecond only when there is one, as format_utc)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def stream_project_package(*, published_at: datetime | None = None) -> Iterator[bytes]:
    """The OC4IDS project package as UTF-8 chunks: the package's fields, then the projects batch by batch."""
    config = current_app.config
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    package = {
        "uri": f"{base}/api/v1/open-data/oc4ids.json",
        "publishedDate": format_utc(published_at or utcnow()),
        "publisher": {"name": config["OPEN_DATA_PUBLISHER"]},
        "license": LICENSE_URL,
        "version": OC4IDS_VERSION,
    }
    yield encode(package)[:-1] + b',"projects":['
    separator = b""
    prefix = config["OC4IDS_PREFIX"]
    for rows in project_batches(batch_size=BATCH):
        yield separator + encode([project(*row, prefix=prefix) for row in rows])[1:-1]
        separator = b","
    yield b"]}"


# How long an export stays after a newer one replaced it: a download that began on it just before has this
# long to finish (at the sweep's 15 minutes, the previous export is kept until the next one is complete).
SUPERSEDED_KEPT_FOR = timedelta(minutes=10)
# An unfinished export this old is a build that died (a build takes seconds: ~18 s at 50,000 sites under
# load); the next build deletes it with its parts.
BUILD_ABANDONED_AFTER = timedelta(minutes=10)
# With no export yet, a client is told to come back after this long (the first build is queued).
FIRST_EXPORT_LOCK_KEY = 0x0C41D5  # "oc4ids": one request of a new installation queues the first build
# The sync readers answer only below the oldest running transaction id (change_numbers.sync_horizon), so
# the build writes in short transactions: one per part, each committed at once.


def make_oc4ids_export() -> int:
    """Build the export from the data as it is now and keep it in parts (the workers' sweep); returns its id.

    The export row is committed first, unfinished (completed_at NULL, never served), then each part in its
    own short transaction, then the sha256, the size and completed_at: no transaction id is held for the
    build's seconds, so phones' /sync is never held back by it, and only one batch of sites is in memory.
    Deleted afterwards: exports replaced more than SUPERSEDED_KEPT_FOR ago, and unfinished ones left by a
    build that died more than BUILD_ABANDONED_AFTER ago.
    """
    made_at = utcnow()
    export = OpenDataExport(made_at=made_at, sha256="", size_bytes=0)
    db.session.add(export)
    db.session.commit()
    export_id = export.id
    try:
        digest, size = hashlib.sha256(), 0
        for seq, chunk in enumerate(stream_project_package(published_at=made_at)):
            db.session.execute(insert(OpenDataExportChunk).values(export_id=export_id, seq=seq, data=chunk))
            db.session.commit()
            digest.update(chunk)
            size += len(chunk)
        db.session.execute(update(OpenDataExport).where(OpenDataExport.id == export_id).values(
            sha256=digest.hexdigest(), size_bytes=size, completed_at=utcnow()))
        _delete_exports(_no_longer_read())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        try:  # never served unfinished: deleted now, or by the next build once abandoned
            _delete_exports([export_id])
            db.session.commit()
        except Exception:  # noqa: BLE001 - the build's own failure is the one to report
            db.session.rollback()
        raise
    return export_id


def _no_longer_read() -> list[int]:
    """Exports replaced by a newer one more than SUPERSEDED_KEPT_FOR ago, and abandoned unfinished ones.

    An export stops being served when a newer one is completed; a download that began on it began before.
    """
    now = utcnow()
    replaced_before = db.session.scalar(
        select(func.max(OpenDataExport.id))
        .where(OpenDataExport.completed_at.is_not(None), OpenDataExport.completed_at < now - SUPERSEDED_KEPT_FOR))
    gone = OpenDataExport.completed_at.is_(None) & (OpenDataExport.made_at < now - BUILD_ABANDONED_AFTER)
    if replaced_before is not None:
        gone = gone | (OpenDataExport.completed_at.is_not(None) & (OpenDataExport.id < replaced_before))
    return list(db.session.scalars(select(OpenDataExport.id).where(gone)))


def _delete_exports(export_ids: list[int]) -> None:
    if export_ids:
        db.session.execute(delete(OpenDataExportChunk).where(OpenDataExportChunk.export_id.in_(export_ids)))
        db.session.execute(delete(OpenDataExport).where(OpenDataExport.id.in_(export_ids)))


def newest_export() -> OpenDataExport | None:
    """The newest completed export; None when the workers have completed none yet (a new installation)."""
    return db.session.scalars(select(OpenDataExport).where(OpenDataExport.completed_at.is_not(None))
                              .order_by(OpenDataExport.id.desc()).limit(1)).first()


def newest_export_or_queue_first() -> OpenDataExport | None:
    """The newest completed export; with none (a new installation), None, and the first build queued once.

    The caller then streams the package made now (`stream_project_package`: read-only, so it holds no
    transaction id and no phone's /sync waits on it) rather than answer an error: the stored export is
    the cheap answer once it exists. The queuing request's transaction is short: a lock, two probes and at
    most one outbox row, so concurrent first requests queue one build.
    """
    export = newest_export()
    if export is not None:
        return export
    advisory_lock(FIRST_EXPORT_LOCK_KEY, sqlite_table=OpenDataExport.__tablename__)
    if not (_build_under_way() or _first_build_queued()):
        enqueue(names.MAKE_FIRST_OC4IDS_EXPORT)
    db.session.commit()
    return None


def _build_under_way() -> bool:
    return db.session.scalar(select(exists().where(
        OpenDataExport.completed_at.is_(None), OpenDataExport.made_at >= utcnow() - BUILD_ABANDONED_AFTER)))


def _first_build_queued() -> bool:
    return db.session.scalar(select(exists().where(
        OutboxJob.name == names.MAKE_FIRST_OC4IDS_EXPORT, OutboxJob.status == "pending")))


def make_first_export() -> None:
    """The queued first build (an outbox job): skipped when an export is complete or being built by now.

    It commits its own parts as the sweep does (its job row's lock ends at the first one): a duplicate
    delivery meanwhile finds the build under way and does nothing.
    """
    if newest_export() is None and not _build_under_way():
        make_oc4ids_export()


def export_parts(export_id: int) -> Iterator[bytes]:
    """An export's bytes, one stored part per statement (never the whole export in memory)."""
    seq = -1
    while True:
        part = db.session.execute(
            select(OpenDataExportChunk.seq, OpenDataExportChunk.data)
            .where(OpenDataExportChunk.export_id == export_id, OpenDataExportChunk.seq > seq)
            .order_by(OpenDataExportChunk.seq).limit(1)).first()
        if part is None:
            return
        seq, data = part
        yield bytes(data)
