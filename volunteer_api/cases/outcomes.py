"""The fix rate and its denominators, computed in SQL by the workers and stored per district and day.

"Over a period" with stored figures: the counts are kept per (district, day of confirmation in
Asia/Almaty), so any range of days is an exact SUM of stored rows. A median cannot be summed, so
the fixed cases are kept as a histogram (district, day, whole days to fix → cases); the median of
any period is read off the summed histogram, exactly. A case belongs to the day it was confirmed:
its referral and resolution, whenever they come, update that day's row.

Both ways in are full aggregates of the source rows (never increments), under one lock:
`recompute_outcomes(district=...)` is the job a confirmation, referral or resolution enqueues;
`recompute_outcomes_scheduled` reconciles every district on the beat.
"""
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, text

from ..districts.models import District
from ..database import advisory_lock, db, dialect_insert
from ..timestamps import utcnow
from .models import OutcomeDay, OutcomeFixDays, OutcomeStamp

# pg_advisory_xact_lock key: one recompute at a time, so an older run never overwrites a newer one.
RECOMPUTE_LOCK_KEY = 0x0CA5E5  # "cases"
# Kazakhstan has one time zone, UTC+5, since 2024; a fixed offset gives both databases the same days.
_DAY = {
    "postgresql": "CAST((({column}) AT TIME ZONE 'UTC') + INTERVAL '5 hours' AS DATE)",
    "sqlite": "date({column}, '+5 hours')",
}
_DAYS_BETWEEN = {
    "postgresql": "({later}) - ({earlier})",
    "sqlite": "CAST(julianday({later}) - julianday({earlier}) AS INTEGER)",
}

_COUNTS = """
    INSERT INTO outcome_days (district, day, confirmed, referred, resolved, fixed)
    SELECT i.district, {day}, COUNT(*), COUNT(r.inspection_id), COUNT(s.inspection_id),
           COUNT(CASE WHEN s.outcome = 'fixed' THEN 1 END)
    FROM inspections AS i
    LEFT JOIN case_referrals AS r ON r.inspection_id = i.id
    LEFT JOIN case_resolutions AS s ON s.inspection_id = i.id
    WHERE i.status = 'confirmed' {district_filter}
    GROUP BY i.district, {day}
"""
_FIX_DAYS = """
    INSERT INTO outcome_fix_days (district, day, days_to_fix, cases)
    SELECT i.district, {day}, {days}, COUNT(*)
    FROM inspections AS i
    JOIN case_resolutions AS s ON s.inspection_id = i.id
    WHERE i.status = 'confirmed' AND s.outcome = 'fixed' {district_filter}
    GROUP BY i.district, {day}, {days}
"""


def recompute_outcomes(*, district: str | None = None, now: datetime | None = None) -> None:
    """Recompute the stored outcome figures of one district (every district without one); no commit."""
    dialect = db.session.get_bind().dialect.name
    advisory_lock(RECOMPUTE_LOCK_KEY, sqlite_table="outcome_stamps")
    now = now or utcnow()
    day = _DAY[dialect].format(column="i.reviewed_at")
    days = _DAYS_BETWEEN[dialect].format(later=_DAY[dialect].format(column="s.resolved_at"), earlier=day)
    district_filter = "AND i.district = :district" if district else ""
    params = {"district": district} if district else {}
    for table in ("outcome_days", "outcome_fix_days"):
        db.session.execute(text(f"DELETE FROM {table}" + (" WHERE district = :district" if district else "")), params)
    db.session.execute(text(_COUNTS.format(day=day, district_filter=district_filter)), params)
    db.session.execute(text(_FIX_DAYS.format(day=day, days=days, district_filter=district_filter)), params)
    districts = [district] if district else list(db.session.scalars(select(District.code)))
    if districts:
        statement = dialect_insert()(OutcomeStamp).values([{"district": code, "computed_at": now} for code in districts])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[OutcomeStamp.district], set_={"computed_at": statement.excluded.computed_at}))


def recompute_outcomes_job(district: str | None = None) -> None:
    """Recompute a district's outcome figures after a confirmation, referral or resolution."""
    recompute_outcomes(district=district)


def recompute_outcomes_scheduled() -> None:
    """Reconcile every district's outcome figures on the beat (also catches anything a lost job missed)."""
    recompute_outcomes()
    db.session.commit()


def fix_rate(fixed: int, confirmed: int) -> str | None:
    """fixed ÷ confirmed as a string with two decimals ("0.50"); None when nothing was confirmed."""
    if not confirmed:
        return None
    return str((Decimal(fixed) / Decimal(confirmed)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def median_of_histogram(histogram: dict[int, int]) -> float | None:
    """The median of the values a {value: count} histogram describes; None when it is empty."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = {(total - 1) // 2, total // 2}  # the middle place, or the two middle places
    found, seen = [], 0
    for value in sorted(histogram):
        count = histogram[value]
        found += [value] * len([place for place in wanted if seen <= place < seen + count])
        seen += count
    return sum(found) / len(found)


def figures(*, districts: list[str], date_from: date | None = None, date_to: date | None = None) -> dict:
    """The stored figures of these districts over [date_from, date_to], overall and by district."""
    day_range = []
    for column in (OutcomeDay.day, OutcomeFixDays.day):
        bounds = []
        if date_from:
            bounds.append(column >= date_from)
        if date_to:
            bounds.append(column <= date_to)
        day_range.append(bounds)
    counts = {row.district: row for row in db.session.execute(
        select(OutcomeDay.district, func.sum(OutcomeDay.confirmed).label("confirmed"),
               func.sum(OutcomeDay.referred).label("referred"), func.sum(OutcomeDay.resolved).label("resolved"),
               func.sum(OutcomeDay.fixed).label("fixed"))
        .where(OutcomeDay.district.in_(districts), *day_range[0]).group_by(OutcomeDay.district))}
    histograms: dict[str, dict[int, int]] = {}
    for district, days, cases in db.session.execute(
            select(OutcomeFixDays.district, OutcomeFixDays.days_to_fix, func.sum(OutcomeFixDays.cases))
            .where(OutcomeFixDays.district.in_(districts), *day_range[1])
            .group_by(OutcomeFixDays.district, OutcomeFixDays.days_to_fix)):
        histograms.setdefault(district, {})[days] = int(cases)
    as_of = db.session.scalar(select(func.min(OutcomeStamp.computed_at)).where(OutcomeStamp.district.in_(districts)))
    by_district = []
    overall_histogram: dict[int, int] = {}
    for district in sorted(districts):
        row = counts.get(district)
        numbers = {name: int(getattr(row, name) or 0) if row else 0
                   for name in ("confirmed", "referred", "resolved", "fixed")}
        histogram = histograms.get(district, {})
        for value, count in histogram.items():
            overall_histogram[value] = overall_histogram.get(value, 0) + count
        by_district.append({"district": district, **_with_rates(numbers, histogram)})
    totals = {name: sum(item[name] for item in by_district) for name in ("confirmed", "referred", "resolved", "fixed")}
    return {**_with_rates(totals, overall_histogram), "date_from": date_from, "date_to": date_to,
            "by_district": by_district, "as_of": as_of}


def _with_rates(numbers: dict, histogram: dict[int, int]) -> dict:
    return {**numbers, "fix_rate": fix_rate(numbers["fixed"], numbers["confirmed"]),
            "median_days_to_fix": median_of_histogram(histogram)}

