"""The sites as an RFC 7946 FeatureCollection, streamed in keyset batches (50,000 sites never sit in memory)."""
import json
from typing import Iterator

from sqlalchemy import func, select

from ..database import db
from ..money import format_tiyn
from ..risk.models import SiteRisk
from ..sites.models import Site
from ..savings.models import SavingsTotal
from ..sites.services import approved_savings_join, open_flags_column

BATCH = 2000


def site_batches(*, district: str | None = None, risk_level: str | None = None,
                 batch_size: int) -> Iterator[list[dict]]:
    """The sites (filtered) with their risk level, open flags and approved savings, by id, a batch at a time.

    One query per batch: the counters are joined and correlated in SQL, not looked up by lists of ids.
    """
    last_id = 0
    while True:
        query = (select(Site.id, Site.name, Site.kind, Site.district, Site.status, Site.budget_tiyn, Site.lat,
                        Site.lon, SiteRisk.level, open_flags_column().label("open_flags"),
                        func.coalesce(SavingsTotal.approved_tiyn, 0).label("approved_tiyn"))
                 .outerjoin(SiteRisk, SiteRisk.site_id == Site.id)
                 .outerjoin(SavingsTotal, approved_savings_join())
                 .where(Site.id > last_id).order_by(Site.id).limit(batch_size))
        if district is not None:
            query = query.where(Site.district == district)
        if risk_level is not None:
            query = query.where(SiteRisk.level == risk_level)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield [row._asdict() for row in rows]
        last_id = rows[-1].id


def feature(site: dict) -> dict:
    """One site as a GeoJSON Feature: a Point, longitude first (RFC 7946 §3.1.1)."""
    return {
        "type": "Feature",
        "id": str(site["id"]),
        "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
        "properties": {
            "id": str(site["id"]), "name": site["name"], "kind": site["kind"], "district": site["district"],
            "status": site["status"], "budget_kzt": format_tiyn(site["budget_tiyn"]), "risk_level": site["level"],
            "open_flags": site["open_flags"], "approved_savings_kzt": format_tiyn(site["approved_tiyn"]),
        },
    }


def stream_sites_geojson(*, district: str | None = None, risk_level: str | None = None) -> Iterator[str]:
    """The FeatureCollection as text chunks, one per batch of sites."""
    yield '{"type":"FeatureCollection","features":['
    separator = ""
    for batch in site_batches(district=district, risk_level=risk_level, batch_size=BATCH):
        yield separator + ",".join(json.dumps(feature(site), ensure_ascii=False, separators=(",", ":"))
                                   for site in batch)
        separator = ","
    yield "]}"
