"""Savings reports: filed by volunteers, decided once by an inspector of the site's district or an admin.

Only approved savings count anywhere. The published totals are not computed here but by the workers
(`totals.py`): every new report and every decision enqueues a recompute in its own transaction.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..audit.services import record_event, state_history
from ..auth.access import visible_to
from ..errors import Conflict, Invalid, NotFound
from ..database import change_status_once, db
from ..ids import parse_id
from ..idempotency import file_once, filed_before
from ..jobs import enqueue, names
from ..money import format_tiyn
from ..pagination import keyset_page
from ..quotas import use_quota
from ..people.models import User
from ..sites.models import Site
from ..sites.moves import move_undecided
from ..change_numbers import next_change_seq
from ..timestamps import utcnow
from .models import SavingsReport, SavingsTotal
from .totals import OVERALL_KEY

# Who filed a report about which site: joined into the query that reads it, no extra query.
WITH_SUMMARIES = (joinedload(SavingsReport.volunteer, innerjoin=True), joinedload(SavingsReport.site, innerjoin=True))
HISTORY_ACTIONS = ("saving.filed", "saving.approved", "saving.rejected")

AUDITED_FIELDS = ("site_id", "district", "amount_tiyn", "category", "description", "evidence_url", "status",
                  "reviewed_by_id", "review_comment")


def snapshot(report: SavingsReport) -> dict:
    """The audited state of a savings report."""
    return {name: getattr(report, name) for name in AUDITED_FIELDS}


def _reused_uuid() -> Conflict:
    return Conflict(str(_l("This client_uuid was already used for a different savings report.")),
                    errors={"client_uuid": [str(_l("Already used with a different body."))]})


def file_saving(*, volunteer_id: int, client_uuid: str, site_id: str, amount_tiyn: int, category: str,
                description: str, evidence_url: str | None) -> tuple[SavingsReport, bool]:
    """File a volunteer's savings report; a retry with the same client_uuid returns the first one.

    Returns (report, created). A volunteer may report savings on any site. An unknown site is a 422 on
    `site_id` (the body names it; the URL names nothing missing); an amount above the site's budget a
    422 on `amount_kzt`.
    """
    client_uuid = str(client_uuid).lower()
    body = {"client_uuid": client_uuid, "site_id": str(site_id), "amount_tiyn": amount_tiyn, "category": category,
            "description": description, "evidence_url": evidence_url}
    site_pk = parse_id(site_id)
    site = db.session.get(Site, site_pk) if site_pk else None
    refusal = None
    if site is None:
        refusal = Invalid(errors={"site_id": [str(_l("No such site."))]})
    elif amount_tiyn > site.budget_tiyn:
        # Money saved cannot exceed the money spent: such a report is a typo or an attempt on the totals.
        refusal = Invalid(errors={"amount_kzt": [str(_l("The amount exceeds the site's budget of %(budget)s KZT.",
                                                        budget=format_tiyn(site.budget_tiyn)))]})
    if refusal is not None:
        # The site may have gone (or its budget changed) since a first attempt that was filed: a retry
        # still answers the stored report.
        stored = filed_before(SavingsReport, volunteer_id=volunteer_id, client_uuid=client_uuid, body=body,
                              conflict=_reused_uuid)
        if stored is not None:
            return stored, False
        raise refusal

    report, created = file_once(SavingsReport, dict(
        site_id=site.id, district=site.district, amount_tiyn=amount_tiyn, category=category,
        description=description, evidence_url=evidence_url, status="pending",
    ), volunteer_id=volunteer_id, client_uuid=client_uuid, body=body, conflict=_reused_uuid)
    if not created:
        return report, False
    use_quota(user_id=volunteer_id, kind="savings")
    record_event(action="saving.filed", object_type="saving", object_id=report.id, after=snapshot(report),
                 actor_id=volunteer_id)
    enqueue(names.NOTIFY_SAVINGS_PENDING, saving_id=report.id)
    # Pending totals change too: recompute the keys this report touches (totals.recompute_totals_job).
    enqueue(names.RECOMPUTE_TOTALS, saving_id=report.id)
    report.change_seq = next_change_seq()
    db.session.commit()
    return report, True


def move_pending_savings(*, site_id: int, district: str) -> list[SavingsReport]:
    """Hand a site's pending savings reports to the district the site moved to: audited, its inspectors
    alerted, both districts' pending totals recomputed. Decided reports stay where they were decided.

    The caller stamps their change numbers and commits.
    """
    moved = move_undecided(SavingsReport, site_id=site_id, district=district, statuses=("pending",),
                           object_type="saving")
    for report in moved:
        enqueue(names.NOTIFY_SAVINGS_PENDING, saving_id=report.id)
    if moved:
        # A job without saving_id recomputes every key: the old district's pending total drops too.
        enqueue(names.RECOMPUTE_TOTALS)
    return moved


def _visible(stmt, user: User):
    """Restrict a query to the reports the user may see: own (volunteer), districts' (inspector), all (admin)."""
    return visible_to(user, stmt.options(*WITH_SUMMARIES), owner_column=SavingsReport.volunteer_id,
                      district_column=SavingsReport.district)


def list_savings(*, user: User, limit: int, cursor: str | None, status: str | None = None,
                 site_id: str | None = None, volunteer_id: str | None = None, district: str | None = None,
                 category: str | None = None) -> tuple[list[SavingsReport], str | None]:
    """List the savings reports the user may see, newest first.

    A volunteer's `volunteer_id` filter narrows their own reports: naming another volunteer gives an empty page.
    """
    stmt = _visible(select(SavingsReport), user)
    if status:
        stmt = stmt.where(SavingsReport.status == status)
    if site_id:
        stmt = stmt.where(SavingsReport.site_id == parse_id(site_id))
    if volunteer_id:
        stmt = stmt.where(SavingsReport.volunteer_id == parse_id(volunteer_id))
    if district:
        stmt = stmt.where(SavingsReport.district == district)
    if category:
        stmt = stmt.where(SavingsReport.category == category)
    return keyset_page(stmt, key_columns=[SavingsReport.id], limit=limit, cursor=cursor)


def get_saving(*, user: User, saving_id) -> SavingsReport:
    """A savings report the user may see; 404 when it does not exist or is not theirs to see."""
    pk = parse_id(saving_id)
    report = db.session.scalars(_visible(select(SavingsReport).where(SavingsReport.id == pk), user)).one_or_none() \
        if pk else None
    if report is None:
        raise NotFound()
    return report


def review_saving(*, user: User, saving_id, decision: str, comment: str | None) -> SavingsReport:
    """Approve or reject a pending report, once; the reviewer must cover the site's district.

    An inspector of another district gets 404 (the report is not theirs to see); a decided report is 409.
    Two concurrent reviews race on a conditional UPDATE: exactly one wins, the other gets 409.
    """
    report = get_saving(user=user, saving_id=saving_id)
    if not user.covers_district(report.district):
        raise NotFound()
    before = snapshot(report)
    if report.status != "pending":
        raise _already_decided()
    now = utcnow()
    if not change_status_once(SavingsReport, report.id, from_status="pending", status=decision,
                              reviewed_by_id=user.id, reviewed_at=now, review_comment=comment, updated_at=now):
        db.session.rollback()
        raise _already_decided()
    db.session.refresh(report)
    record_event(action=f"saving.{decision}", object_type="saving", object_id=report.id, before=before,
                 after={**snapshot(report), "comment": comment}, actor_id=user.id)
    # In this transaction: the totals follow every decision, approvals within seconds.
    enqueue(names.RECOMPUTE_TOTALS, saving_id=report.id)
    report.change_seq = next_change_seq()
    db.session.commit()
    return report


def saving_history(*, user: User, saving_id) -> list[dict]:
    """Every state change of a savings report the user may see, oldest first: at, by, action, comment."""
    report = get_saving(user=user, saving_id=saving_id)
    return state_history(object_type="saving", object_id=report.id, actions=HISTORY_ACTIONS)


def _already_decided() -> Conflict:
    return Conflict(str(_l("This savings report has already been decided.")))


def read_totals(*, user: User, by: list[str] | tuple = (), limit: int = 50) -> dict:
    """The totals the workers stored, with the breakdowns asked for; `as_of` says when they were computed."""
    overall = db.session.get(SavingsTotal, ("overall", OVERALL_KEY))
    answer = {
        "approved_tiyn": overall.approved_tiyn if overall else 0,
        "approved_count": overall.approved_count if overall else 0,
        "pending_tiyn": overall.pending_tiyn if overall else 0,
        "pending_count": overall.pending_count if overall else 0,
        "as_of": overall.computed_at if overall else None,
        "by_district": [{"district": row.key, **_amounts(row)} for row in _scope_rows("district")],
    }
    if "category" in by:
        answer["by_category"] = [{"category": row.key, **_amounts(row)} for row in _scope_rows("category")]
    if "month" in by:
        answer["by_month"] = [{"month": row.key, **_amounts(row)} for row in _scope_rows("month")]
    if "site" in by:
        rows = _top_rows("site", limit)
        sites = _by_id(Site, rows)
        answer["by_site"] = [
            {"site_id": row.key, "site_name": getattr(sites.get(row.key), "name", None),
             "district": getattr(sites.get(row.key), "district", None), **_amounts(row)}
            for row in rows
        ]
    if "volunteer" in by:
        # Volunteers see their own line only; the ranking of others is for the agency.
        only = str(user.id) if user.role == "volunteer" else None
        rows = _top_rows("volunteer", limit, only_key=only)
        people = _by_id(User, rows)
        answer["by_volunteer"] = [
            {"volunteer_id": row.key, "badge_number": getattr(people.get(row.key), "badge_number", None),
             **_amounts(row)}
            for row in rows
        ]
    return answer


def _amounts(row: SavingsTotal) -> dict:
    return {"approved_tiyn": row.approved_tiyn, "approved_count": row.approved_count,
            "pending_tiyn": row.pending_tiyn, "pending_count": row.pending_count}


def _scope_rows(scope: str) -> list[SavingsTotal]:
    return db.session.scalars(select(SavingsTotal).where(SavingsTotal.scope == scope).order_by(SavingsTotal.key)).all()


def _top_rows(scope: str, limit: int, only_key: str | None = None) -> list[SavingsTotal]:
    stmt = select(SavingsTotal).where(SavingsTotal.scope == scope)
    if only_key is not None:
        stmt = stmt.where(SavingsTotal.key == only_key)
    return db.session.scalars(
        stmt.order_by(SavingsTotal.approved_tiyn.desc(), SavingsTotal.key).limit(limit)
    ).all()


def _by_id(model, rows: list[SavingsTotal]) -> dict:
    ids = [int(row.key) for row in rows if row.key.isdigit()]
    if not ids:
        return {}
    return {str(item.id): item for item in db.session.scalars(select(model).where(model.id.in_(ids)))}


def _pending_query(user: User, *, district: str | None = None, site_id: str | None = None):
    stmt = _visible(select(SavingsReport).where(SavingsReport.status == "pending"), user)
    if district:
        stmt = stmt.where(SavingsReport.district == district)
    if site_id:
        stmt = stmt.where(SavingsReport.site_id == parse_id(site_id)) if parse_id(site_id) else stmt.where(False)
    return stmt


def list_pending_savings(*, user: User, limit: int, cursor: str | None, **filters) -> tuple[list[SavingsReport], str | None]:
    """The reviewer's pending savings reports, oldest first, by keyset (filters: district, site_id)."""
    return keyset_page(_pending_query(user, **filters), key_columns=[SavingsReport.id], limit=limit, cursor=cursor,
                       descending=False)


def count_pending_savings(*, user: User, **filters) -> int:
    """How many pending savings reports the reviewer may decide, with these filters."""
    return db.session.scalar(select(func.count()).select_from(_pending_query(user, **filters).subquery()))
