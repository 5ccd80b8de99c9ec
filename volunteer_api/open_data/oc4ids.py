"""Every site as an OC4IDS 0.9 project (Open Contracting for Infrastructure Data Standard), streamed.

What a project carries: its identifiers, title, sector and type from the OC4IDS codelists, the budget,
the location as a GeoJSON point, the status, the contractor as a party (role `supplier`), and the
monitoring's figures as `metrics` (approved savings; inspections filed and confirmed). Nothing about
any volunteer or inspector is exported.

Amounts are JSON numbers written with their exact two decimals (no float on the way: see `ExactJSON`).
"""
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from flask import current_app
from sqlalchemy import func, select

from ..database import db
from ..inspections.models import Inspection
from ..money import format_tiyn
from ..sites.models import Site
from ..savings.models import SavingsTotal
from ..sites.services import approved_savings_join
from ..timestamps import format_utc, utcnow

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


@dataclass(frozen=True)
class Tiyn:
    """An amount to be written as an exact JSON number of tenge."""

    value: int


class ExactJSON:
    """Compact JSON in which every Tiyn is the exact number of tenge ("1250000.55" without the quotes).

    A random token per encoder marks the amounts, so no text in the data can pass for one.
    """

    def __init__(self):
        self._token = secrets.token_hex(8)
        self._marked = re.compile(f'"{self._token}(-?[0-9]+\\.[0-9]{{2}})"')

    def _encode(self, obj):
        if isinstance(obj, Tiyn):
            return f"{self._token}{format_tiyn(obj.value)}"
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    def dumps(self, value) -> str:
        text = json.dumps(value, default=self._encode, ensure_ascii=False, separators=(",", ":"))
        return self._marked.sub(r"\1", text)


def _contractor_party(name: str) -> dict:
    # A stable id for the name within this publication (no registry identifier is recorded for contractors).
    return {"id": "contractor-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12], "name": name,
            "roles": ["supplier"]}


def project(site, *, prefix: str, inspections: int, confirmed: int, approved_tiyn: int) -> dict:
    """One site as an OC4IDS project."""
    entry = {
        "id": f"{prefix}-{site.id}",
        "updated": format_utc(site.updated_at),
        "language": "ru",
        "identifiers": [{"id": str(site.id), "scheme": "volunteer-monitor-site"}],
        "title": site.name,
        "status": STATUSES[site.status],
        "type": "construction",
        "sector": SECTORS[site.kind],
        "budget": {"amount": {"amount": Tiyn(site.budget_tiyn), "currency": "KZT"}},
        "locations": [{"id": "1", "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                       "address": {k: v for k, v in (("streetAddress", site.address), ("region", site.district),
                                                     ("countryName", "Kazakhstan")) if v}}],
        "metrics": [
            {"id": "approvedSavings", "title": "Budget savings approved by inspectors",
             "description": "Budget money whose misuse the volunteers' monitoring prevented, as verified by the "
                            "Agency's inspectors.",
             "observations": [{"id": "total", "value": {"amount": Tiyn(approved_tiyn), "currency": "KZT"}}]},
            {"id": "inspections", "title": "Volunteer inspections",
             "description": "Geotagged inspections of the site filed by volunteers, and those an inspector "
                            "confirmed as violations.",
             "observations": [{"id": "filed", "measure": inspections}, {"id": "confirmed", "measure": confirmed}]},
        ],
    }
    if site.contractor:
        entry["parties"] = [_contractor_party(site.contractor)]
    return entry


def _inspections_of_site(*conditions):
    # Correlated: one probe per site of the (site_id, id) index, or of the partial index of confirmed ones.
    return (select(func.count()).where(Inspection.site_id == Site.id, *conditions)
            .correlate(Site).scalar_subquery())


def projects(*, prefix: str, batch_size: int) -> Iterator[list[dict]]:
    """Every site as a project, a keyset batch at a time."""
    last_id = 0
    while True:
        sites = db.session.execute(
            select(Site.id, Site.name, Site.kind, Site.district, Site.address, Site.lat, Site.lon, Site.budget_tiyn,
                   Site.contractor, Site.status, Site.updated_at,
                   _inspections_of_site().label("inspections"),
                   _inspections_of_site(Inspection.status == "confirmed").label("confirmed"),
                   func.coalesce(SavingsTotal.approved_tiyn, 0).label("approved_tiyn"))
            .outerjoin(SavingsTotal, approved_savings_join())
            .where(Site.id > last_id).order_by(Site.id).limit(batch_size)).all()
        if not sites:
            return
        yield [project(site, prefix=prefix, inspections=site.inspections, confirmed=site.confirmed,
                       approved_tiyn=site.approved_tiyn) for site in sites]
        last_id = sites[-1].id


def stream_project_package(*, published_at: datetime | None = None) -> Iterator[str]:
    """The OC4IDS project package as text chunks: the package's fields, then the projects batch by batch."""
    config = current_app.config
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    package = {
        "uri": f"{base}/api/v1/open-data/oc4ids.json",
        "publishedDate": format_utc(published_at or utcnow()),
        "publisher": {"name": config["OPEN_DATA_PUBLISHER"]},
        "license": LICENSE_URL,
        "version": OC4IDS_VERSION,
    }
    encoder = ExactJSON()
    yield encoder.dumps(package)[:-1] + ',"projects":['
    separator = ""
    for batch in projects(prefix=config["OC4IDS_PREFIX"], batch_size=BATCH):
        yield separator + ",".join(encoder.dumps(entry) for entry in batch)
        separator = ","
    yield "]}"
