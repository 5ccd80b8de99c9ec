"""The sites as an RFC 7946 FeatureCollection, streamed in keyset batches (50,000 sites never sit in memory).

Per batch: one query (the counters joined and correlated in SQL), plain tuples, and one orjson call that
encodes the batch's features together — where the time went before (bench/README.md: a Row made into a
dict, a dict per feature and json.dumps per feature cost more than the SQL).
"""
from typing import Iterator

import orjson
from sqlalchemy import and_, func, select

from ..database import db
from ..money import format_tiyn
from ..risk.models import SiteRisk
from ..sites.models import Site
from ..savings.models import SavingsTotal
from ..sites.services import approved_savings_join, open_flags_column

BATCH = 2000
COLUMNS = (Site.id, Site.name, Site.kind, Site.district, Site.status, Site.budget_tiyn, Site.lon, Site.lat,
           SiteRisk.level, open_flags_column(), func.coalesce(SavingsTotal.approved_tiyn, 0))


def site_batches(*, district: str | None = None, risk_level: str | None = None,
                 batch_size: int) -> Iterator[list[tuple]]:
    """The sites (filtered) with their risk level, open flags and approved savings, by id, a batch at a time."""
    last_id = 0
    while True:
        # The risk's own bound on site_id: without it PostgreSQL merge-joins site_risks from its first row
        # in every batch (a scan growing with the batch's position).
        risk_of_site = and_(SiteRisk.site_id == Site.id, SiteRisk.site_id > last_id)
        query = select(*COLUMNS).where(Site.id > last_id)
        if risk_level is None:
            query = query.outerjoin(SiteRisk, risk_of_site)
        else:
            query = query.join(SiteRisk, risk_of_site).where(SiteRisk.level == risk_level)
        query = query.outerjoin(SavingsTotal, approved_savings_join()).order_by(Site.id).limit(batch_size)
        if district is not None:
            query = query.where(Site.district == district)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]


def features(rows: list[tuple]) -> list[dict]:
    """Sites as GeoJSON Features: each a Point, longitude first (RFC 7946 §3.1.1)."""
    return [{
        "type": "Feature",
        "id": str(site_id),
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "id": str(site_id), "name": name, "kind": kind, "district": district, "status": status,
            "budget_kzt": format_tiyn(budget_tiyn), "risk_level": risk_level, "open_flags": open_flags,
            "approved_savings_kzt": format_tiyn(approved_tiyn),
        },
    } for site_id, name, kind, district, status, budget_tiyn, lon, lat, risk_level, open_flags, approved_tiyn in rows]


def stream_sites_geojson(*, district: str | None = None, risk_level: str | None = None) -> Iterator[bytes]:
    """The FeatureCollection as UTF-8 chunks, one per batch of sites."""
    yield b'{"type":"FeatureCollection","features":['
    separator = b""
    for rows in site_batches(district=district, risk_level=risk_level, batch_size=BATCH):
        yield separator + orjson.dumps(features(rows))[1:-1]  # the list's items, without its brackets
        separator = b","
    yield b"]}"
