"""The monthly report's figures, each an SQL aggregate over one month (Asia/Almaty) of the source rows.

Everything counted is bound to an event inside the month (a filing, a review, a referral, an
approval), so regenerating a past month gives the same figures; only the ten riskiest sites are the
assessment at the time the report is made (risk keeps no history).
"""
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import String, case, cast, distinct, func, select

from ..alerts.models import Alert
from ..cases import outcomes
from ..cases.models import REFERRAL_CHANNELS, OUTCOMES, CaseReferral, CaseResolution
from ..districts.services import known_district_codes
from ..database import db
from ..inspections.flags import FLAG_RULES
from ..inspections.models import Inspection, Photo
from ..risk.models import SiteRisk
from ..savings.models import SavingsReport
from ..sites.models import Site
from ..timestamps import ALMATY

FLAG_REASONS = tuple(name for name, _ in FLAG_RULES)


def month_bounds(month: str) -> tuple[datetime, datetime, date, date]:
    """[start, end) of a "YYYY-MM" month in Asia/Almaty, as UTC times, and its first and last dates."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=ALMATY).astimezone(timezone.utc)
    end = datetime(following.year, following.month, 1, tzinfo=ALMATY).astimezone(timezone.utc)
    return start, end, first, following - timedelta(days=1)


def _count_where(condition):
    return func.count(case((condition, 1)))


def _sum_where(condition, column):
    return func.coalesce(func.sum(case((condition, column), else_=0)), 0)


def _median(values_query) -> float | None:
    """The median of a one-column query, in SQL on either database: the middle row(s) by ORDER BY/OFFSET."""
    subquery = values_query.subquery()
    column = list(subquery.columns)[0]
    total = db.session.scalar(select(func.count()).select_from(subquery))
    if not total:
        return None
    middle = db.session.scalars(
        select(column).order_by(column).offset((total - 1) // 2).limit(2 - total % 2)).all()
    return round(sum(float(value) for value in middle) / len(middle), 2)


def _hours_between(later, earlier):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600
    return (func.julianday(later) - func.julianday(earlier)) * 24


def activity(start, end) -> dict:
    filed = (Inspection.received_at >= start) & (Inspection.received_at < end)
    row = db.session.execute(select(
        func.count(distinct(Inspection.volunteer_id)), func.count(), func.count(distinct(Inspection.site_id))
    ).where(filed)).one()
    sites_total = db.session.scalar(select(func.count()).select_from(Site).where(Site.created_at < end))
    return {"volunteers_active": row[0], "inspections": row[1], "sites_covered": row[2], "sites_total": sites_total}


def flags_by_district(start, end) -> list[dict]:
    reasons_text = cast(Inspection.flag_reasons, String)
    columns = [_count_where(reasons_text.like(f'%"{reason}"%')).label(reason) for reason in FLAG_REASONS]
    rows = db.session.execute(
        select(Inspection.district, func.count().label("flagged"), *columns)
        .where(Inspection.received_at >= start, Inspection.received_at < end, Inspection.flagged.is_(True))
        .group_by(Inspection.district).order_by(Inspection.district)).all()
    return [row._asdict() for row in rows]


def review_speed(start, end) -> dict:
    reviewed = (Inspection.reviewed_at >= start) & (Inspection.reviewed_at < end)
    count = db.session.scalar(select(func.count()).select_from(Inspection).where(reviewed))
    median = _median(select(_hours_between(Inspection.reviewed_at, Inspection.received_at).label("hours"))
                     .where(reviewed))
    escalations = db.session.scalar(select(func.count(distinct(Alert.event_key))).where(
        Alert.kind == "escalation", Alert.created_at >= start, Alert.created_at < end))
    return {"reviewed": count, "median_hours_to_review": median, "escalations": escalations}


def savings(start, end) -> dict:
    filed = (SavingsReport.created_at >= start) & (SavingsReport.created_at < end)
    decided = (SavingsReport.reviewed_at >= start) & (SavingsReport.reviewed_at < end)
    approved = decided & (SavingsReport.status == "approved")
    rejected = decided & (SavingsReport.status == "rejected")
    to_date = (SavingsReport.status == "approved") & (SavingsReport.reviewed_at < end)
    row = db.session.execute(select(
        _count_where(filed), _sum_where(filed, SavingsReport.amount_tiyn),
        _count_where(approved), _sum_where(approved, SavingsReport.amount_tiyn),
        _count_where(rejected), _sum_where(rejected, SavingsReport.amount_tiyn),
        _count_where(to_date), _sum_where(to_date, SavingsReport.amount_tiyn),
    )).one()
    by_district = [
        {"district": district, "approved_count": count, "approved_tiyn": int(tiyn)}
        for district, count, tiyn in db.session.execute(
            select(SavingsReport.district, func.count(), func.sum(SavingsReport.amount_tiyn))
            .where(SavingsReport.status == "approved", SavingsReport.reviewed_at < end)
            .group_by(SavingsReport.district).order_by(SavingsReport.district))]
    covered = select(Inspection.site_id).distinct().where(Inspection.received_at >= start, Inspection.received_at < end)
    budgets = db.session.scalar(select(func.coalesce(func.sum(Site.budget_tiyn), 0)).where(Site.id.in_(covered)))
    return {"claimed_count": row[0], "claimed_tiyn": int(row[1]), "approved_count": row[2],
            "approved_tiyn": int(row[3]), "rejected_count": row[4], "rejected_tiyn": int(row[5]),
            "approved_to_date_count": row[6], "approved_to_date_tiyn": int(row[7]),
            "approved_to_date_by_district": by_district, "budgets_monitored_tiyn": int(budgets)}


def referrals(start, end) -> list[dict]:
    outcome_columns = [_count_where(CaseResolution.outcome == outcome).label(outcome) for outcome in OUTCOMES]
    rows = {row.channel: row._asdict() for row in db.session.execute(
        select(CaseReferral.channel, func.count().label("referred"), *outcome_columns,
               _count_where(CaseResolution.inspection_id.is_(None)).label("unresolved"))
        .outerjoin(CaseResolution, CaseResolution.inspection_id == CaseReferral.inspection_id)
        .where(CaseReferral.referred_at >= start, CaseReferral.referred_at < end)
        .group_by(CaseReferral.channel))}
    empty = {"referred": 0, **{outcome: 0 for outcome in OUTCOMES}, "unresolved": 0}
    return [{**empty, **rows.get(channel, {}), "channel": channel} for channel in REFERRAL_CHANNELS]


def riskiest_sites(limit: int = 10) -> list[dict]:
    rows = db.session.execute(
        select(Site.id, Site.name, Site.district, SiteRisk.score, SiteRisk.level)
        .join(SiteRisk, SiteRisk.site_id == Site.id)
        .order_by(SiteRisk.score.desc(), Site.id).limit(limit)).all()
    return [{"site_id": str(row.id), "name": row.name, "district": row.district, "score": row.score,
             "level": row.level} for row in rows]


def data_quality(start, end) -> dict:
    filed = (Inspection.received_at >= start) & (Inspection.received_at < end)
    row = db.session.execute(select(
        _count_where(Inspection.on_site.is_(False)), _count_where(Inspection.mock_location.is_(True))
    ).where(filed)).one()
    # Photos of the month's inspections whose camera disagrees: taken outside the site's geofence (EXIF GPS),
    # or at a time more than a day from the inspection's (EXIF time, photo_time_mismatch at upload).
    photos = db.session.execute(
        select(_count_where(Photo.exif_distance_m > Site.geofence_radius_m),
               _count_where(Photo.photo_time_mismatch.is_(True)))
        .select_from(Photo)
        .join(Inspection, Inspection.id == Photo.inspection_id).join(Site, Site.id == Inspection.site_id)
        .where(filed)).one()
    return {"off_site": row[0], "mock_location": row[1], "photo_location_mismatches": photos[0],
            "photo_time_mismatches": photos[1]}


def gather(month: str) -> dict:
    """Every section of the month's report."""
    start, end, first_day, last_day = month_bounds(month)
    fix = outcomes.figures(districts=sorted(known_district_codes()), date_from=first_day, date_to=last_day)
    return {
        "month": month,
        "activity": activity(start, end),
        "flags_by_district": flags_by_district(start, end),
        "review": review_speed(start, end),
        "savings": savings(start, end),
        "outcomes": {key: fix[key] for key in ("confirmed", "referred", "resolved", "fixed", "fix_rate",
                                              "median_days_to_fix")},
        "outcomes_by_district": [{key: item[key] for key in ("district", "confirmed", "fixed", "fix_rate")}
                                 for item in fix["by_district"]],
        "referrals": referrals(start, end),
        "riskiest_sites": riskiest_sites(),
        "data_quality": data_quality(start, end),
    }
