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
from datetime import datetime
from functools import lru_cache
from typing import Iterator

import orjson
from flask import current_app
from sqlalchemy import delete, func, insert, select

from ..database import db
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


# The newest exports kept: a download that began on the previous one still finds all its parts.
EXPORTS_KEPT = 2


def make_oc4ids_export() -> int:
    """Build the export from the data as it is now and keep it in parts (the workers' sweep); returns its id.

    Older exports beyond EXPORTS_KEPT are deleted with their parts.
    """
    export = OpenDataExport(made_at=utcnow(), sha256="", size_bytes=0)
    db.session.add(export)
    db.session.flush()
    digest, size = hashlib.sha256(), 0
    for seq, chunk in enumerate(stream_project_package(published_at=export.made_at)):
        db.session.execute(insert(OpenDataExportChunk).values(export_id=export.id, seq=seq, data=chunk))
        digest.update(chunk)
        size += len(chunk)
    export.sha256, export.size_bytes = digest.hexdigest(), size
    older = [row[0] for row in db.session.execute(
        select(OpenDataExport.id).order_by(OpenDataExport.id.desc()).offset(EXPORTS_KEPT))]
    if older:
        db.session.execute(delete(OpenDataExportChunk).where(OpenDataExportChunk.export_id.in_(older)))
        db.session.execute(delete(OpenDataExport).where(OpenDataExport.id.in_(older)))
    db.session.commit()
    return export.id


def newest_export() -> OpenDataExport:
    """The newest export; made now, once, when the workers have made none yet (a new installation)."""
    export = db.session.scalars(select(OpenDataExport).order_by(OpenDataExport.id.desc()).limit(1)).first()
    if export is None:
        export = db.session.get(OpenDataExport, make_oc4ids_export())
    return export


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
