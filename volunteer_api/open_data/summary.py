"""The public summary: what the monitoring achieved, by district, from the figures the workers stored.

Public and shared widely, so it is cached in the process for PUBLIC_CACHE_SECONDS; it names no person.
"""
import threading
import time

from sqlalchemy import func, select

from ..cases import outcomes
from ..districts.models import District
from ..database import db
from ..inspections.models import Inspection
from ..savings.models import SavingsTotal
from ..savings.totals import OVERALL_KEY
from ..sites.models import Site

_cache: dict = {}
_cache_lock = threading.Lock()


def _counts_by_district(model) -> dict[str, int]:
    return dict(db.session.execute(select(model.district, func.count()).group_by(model.district)).all())


def compute_public_summary() -> dict:
    """Approved savings, sites monitored, inspections and the fix rate with its denominators, by district."""
    districts = list(db.session.execute(
        select(District.code, District.name_ru, District.name_kk, District.name_en).order_by(District.code)))
    savings = {row.key: row for row in db.session.scalars(
        select(SavingsTotal).where(SavingsTotal.scope.in_(("overall", "district"))))}
    sites, inspections = _counts_by_district(Site), _counts_by_district(Inspection)
    fix = outcomes.figures(districts=[d.code for d in districts])
    fix_by_district = {item["district"]: item for item in fix["by_district"]}
    overall = savings.get(OVERALL_KEY)
    by_district = []
    for code, name_ru, name_kk, name_en in districts:
        saved, cases = savings.get(code), fix_by_district[code]
        by_district.append({
            "district": code, "names": {"ru": name_ru, "kk": name_kk, "en": name_en},
            "approved_tiyn": saved.approved_tiyn if saved else 0, "approved_count": saved.approved_count if saved else 0,
            "sites_monitored": sites.get(code, 0), "inspections": inspections.get(code, 0),
            "confirmed": cases["confirmed"], "fixed": cases["fixed"], "fix_rate": cases["fix_rate"]})
    stamps = [stamp for stamp in (overall.computed_at if overall else None, fix["as_of"]) if stamp is not None]
    return {
        "approved_tiyn": overall.approved_tiyn if overall else 0,
        "approved_count": overall.approved_count if overall else 0,
        "sites_monitored": sum(sites.values()), "inspections": sum(inspections.values()),
        "confirmed": fix["confirmed"], "fixed": fix["fixed"], "fix_rate": fix["fix_rate"],
        "by_district": by_district, "as_of": min(stamps) if stamps else None,
    }


def public_summary(*, max_age_seconds: float) -> dict:
    """The summary, recomputed at most once per max_age_seconds in this process."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get("summary")
        if cached is not None and now - cached[0] < max_age_seconds:
            return cached[1]
    summary = compute_public_summary()
    with _cache_lock:
        _cache["summary"] = (now, summary)
    return summary
