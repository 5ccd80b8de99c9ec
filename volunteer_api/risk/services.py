"""Assessing every site's risk: inputs gathered in SQL, scored by rules.py, stored by the workers.

A job after each filing or review that changes an input (`risk.reassess_sites`) rescores those sites
within seconds; the scheduled sweep rescores every site in keyset batches, which also carries a
contractor's changed record to its other sites. Only rows whose assessment changed are rewritten.
"""
from datetime import date

from sqlalchemy import case, func, select

from ..database import db, dialect_insert
from ..inspections.models import Inspection
from ..sites.models import Site
from ..timestamps import utcnow
from . import rules
from .models import SiteRisk

BATCH = 2000


def _count_where(condition):
    return func.count(case((condition, 1)))


def _inputs(sites_condition) -> dict[int, dict[str, int]]:
    """What monitoring saw at the sites `sites_condition` (on Inspection.site_id) selects, one aggregate."""
    delay = Inspection.checklist["schedule_delay"].as_boolean()
    rows = db.session.execute(
        select(Inspection.site_id,
               _count_where(Inspection.status == "confirmed").label("confirmed_violations"),
               _count_where((Inspection.flagged.is_(True)) & (Inspection.status == "submitted")).label("open_flags"),
               _count_where((Inspection.mock_location.is_(True)) | (Inspection.on_site.is_(False))).label("suspect_filings"),
               _count_where(delay.is_(True)).label("reported_delays"),
               _count_where(Inspection.status == "returned").label("returned_inspections"))
        .where(sites_condition).group_by(Inspection.site_id)
    ).all()
    return {row.site_id: row._asdict() for row in rows}


def contractor_violations(contractors: set[str] | None = None) -> dict[str, int]:
    """Confirmed violations across all sites of each contractor (of these, or of every contractor)."""
    statement = (select(Site.contractor, func.count()).join(Inspection, Inspection.site_id == Site.id)
                 .where(Site.contractor.is_not(None), Inspection.status == "confirmed").group_by(Site.contractor))
    if contractors is not None:
        if not contractors:
            return {}
        statement = statement.where(Site.contractor.in_(contractors))
    return dict(db.session.execute(statement).all())


def assess_sites(sites: list, *, today: date, by_contractor: dict[str, int] | None = None,
                 consecutive: bool = False) -> list[dict]:
    """The assessment of each (id, kind, budget_tiyn, contractor, planned_completion, status) site row."""
    # A batch of consecutive ids reads its inspections by a range of the index, not a list of ids.
    seen = _inputs(Inspection.site_id.between(sites[0].id, sites[-1].id) if consecutive
                   else Inspection.site_id.in_([site.id for site in sites]))
    if by_contractor is None:
        by_contractor = contractor_violations({site.contractor for site in sites if site.contractor})
    assessed = []
    for site in sites:
        counts = seen.get(site.id, {})
        own_confirmed = counts.get("confirmed_violations", 0)
        overdue = (site.planned_completion is not None and site.planned_completion < today
                   and site.status != "completed")
        inputs = {
            "confirmed_violations": own_confirmed,
            "open_flags": counts.get("open_flags", 0),
            "suspect_filings": counts.get("suspect_filings", 0),
            "schedule_delays": counts.get("reported_delays", 0) + int(overdue),
            "returned_inspections": counts.get("returned_inspections", 0),
            "contractor_violations": by_contractor.get(site.contractor, 0) - own_confirmed if site.contractor else 0,
        }
        assessed.append({"site_id": site.id, **rules.assess(inputs=inputs, budget_tiyn=site.budget_tiyn, kind=site.kind)})
    return assessed


def _store(assessed: list[dict], *, consecutive: bool = False) -> int:
    """Upsert assessments, rewriting a row only when its assessment changed; returns rows written."""
    if not assessed:
        return 0
    now = utcnow()
    ids = [item["site_id"] for item in assessed]
    stored = {row.site_id: row for row in db.session.execute(
        select(SiteRisk.site_id, SiteRisk.score, SiteRisk.level, SiteRisk.factors)
        .where(SiteRisk.site_id.between(ids[0], ids[-1]) if consecutive else SiteRisk.site_id.in_(ids)))}
    changed = [{**item, "computed_at": now} for item in assessed
               if (old := stored.get(item["site_id"])) is None
               or (old.score, old.level, old.factors) != (item["score"], item["level"], item["factors"])]
    if changed:
        statement = dialect_insert()(SiteRisk).values(changed)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[SiteRisk.site_id],
            set_={name: statement.excluded[name]
                  for name in ("likelihood", "impact", "score", "level", "factors", "computed_at")}))
    return len(changed)


_SITE_COLUMNS = (Site.id, Site.kind, Site.budget_tiyn, Site.contractor, Site.planned_completion, Site.status)


def reassess_site_risks(site_ids: list[int]) -> int:
    """Rescore these sites (a filing or review changed what monitoring saw there)."""
    sites = db.session.execute(select(*_SITE_COLUMNS).where(Site.id.in_(site_ids))).all()
    return _store(assess_sites(sites, today=utcnow().date()))


def reassess_all_risks(batch_size: int = BATCH) -> int:
    """Rescore every site in keyset batches, one commit each; returns the rows that changed."""
    written, last_id, today = 0, 0, utcnow().date()
    by_contractor = contractor_violations()  # once for the sweep, not per batch
    while True:
        sites = db.session.execute(
            select(*_SITE_COLUMNS).where(Site.id > last_id).order_by(Site.id).limit(batch_size)).all()
        if not sites:
            return written
        written += _store(assess_sites(sites, today=today, by_contractor=by_contractor, consecutive=True),
                          consecutive=True)
        db.session.commit()
        last_id = sites[-1].id


def risks_of(site_ids: list[int]) -> dict[int, SiteRisk]:
    """The stored assessments of these sites."""
    if not site_ids:
        return {}
    return {risk.site_id: risk for risk in db.session.scalars(select(SiteRisk).where(SiteRisk.site_id.in_(site_ids)))}
