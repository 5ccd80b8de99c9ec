"""A confirmed inspection is a case: its referral and its resolution, each recorded once."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import String, cast, exists, literal, select

from ..alerts.models import Alert
from ..alerts.services import create_alerts, district_recipients
from ..audit.services import record_event
from ..database import db, insert_unless_duplicate
from ..districts.services import known_district_codes
from ..errors import Conflict, Invalid, NotFound
from ..inspections.models import Inspection
from ..inspections.services import get_inspection
from ..jobs import enqueue, names
from ..sites.models import Site
from ..timestamps import format_utc, utcnow
from . import outcomes
from .models import CaseReferral, CaseResolution

MAX_CLOCK_AHEAD = timedelta(minutes=10)
ESCALATION_BATCH = 200


def _case(inspection_id, *, user) -> Inspection:
    """The confirmed inspection the user may act on; 404 when not theirs, 409 when it is no case (yet)."""
    inspection = get_inspection(inspection_id, user=user)
    if not user.covers_district(inspection.district):
        raise NotFound()
    if inspection.status != "confirmed":
        # The inspection exists and the caller may act on it; its state is what refuses (not the input).
        raise Conflict(_l("Only a confirmed inspection is a case."))
    return inspection


def _check_time(value, *, field: str, not_before, not_before_message) -> None:
    if value > utcnow() + MAX_CLOCK_AHEAD:
        raise Invalid(errors={field: [str(_l("The time is in the future."))]})
    if value < not_before:
        raise Invalid(errors={field: [str(not_before_message)]})


@dataclass(frozen=True)
class CaseStep:
    """Something recorded once on a case (its referral, its resolution): where, when, and what it may not precede."""

    model: type
    name: str  # the case's field ("referral"), the audit event's before
    action: str
    time_field: str
    not_before: Callable[[Inspection], datetime]
    too_early: LazyString
    already_recorded: LazyString


REFERRAL = CaseStep(CaseReferral, "referral", "inspection.referred", "referred_at",
                    not_before=lambda inspection: inspection.captured_at,
                    too_early=_l("A referral cannot precede the inspection."),
                    already_recorded=_l("This case has already been referred."))
RESOLUTION = CaseStep(CaseResolution, "resolution", "inspection.resolved", "resolved_at",
                      not_before=lambda inspection: inspection.reviewed_at,
                      too_early=_l("A resolution cannot precede the confirmation."),
                      already_recorded=_l("This case has already been resolved."))


def _record_once(step: CaseStep, inspection_id, *, user, values: dict, audited: dict) -> Inspection:
    """Record a step of a confirmed case once, audited, and have the workers recount the district's outcomes."""
    inspection = _case(inspection_id, user=user)
    _check_time(values[step.time_field], field=step.time_field, not_before=step.not_before(inspection),
                not_before_message=step.too_early)
    # The primary key decides between two concurrent recordings, not an earlier read.
    row = insert_unless_duplicate(step.model, {"inspection_id": inspection.id, **values, "recorded_by_id": user.id,
                                               "recorded_at": utcnow()})
    if row is None:
        db.session.rollback()
        raise Conflict(step.already_recorded)
    record_event(action=step.action, object_type="inspection", object_id=inspection.id, before={step.name: None},
                 after={**audited, step.time_field: format_utc(values[step.time_field])})
    enqueue(names.RECOMPUTE_OUTCOMES, district=inspection.district)
    db.session.commit()
    return _reloaded(inspection.id, user)


def refer_case(inspection_id, *, user, channel: str, case_number: str, referred_at) -> Inspection:
    """Record where a case was referred (1424, eOtinish, the department, the prosecutor); once."""
    return _record_once(REFERRAL, inspection_id, user=user,
                        values={"channel": channel, "case_number": case_number, "referred_at": referred_at},
                        audited={"channel": channel, "case_number": case_number, "comment": f"{channel} {case_number}"})


def resolve_case(inspection_id, *, user, outcome: str, comment: str, resolved_at) -> Inspection:
    """Record how a case ended (fixed, not fixed, unfounded); once. A case never referred may be resolved."""
    return _record_once(RESOLUTION, inspection_id, user=user,
                        values={"outcome": outcome, "comment": comment, "resolved_at": resolved_at},
                        audited={"outcome": outcome, "comment": comment})


def _reloaded(inspection_id: int, user) -> Inspection:
    db.session.expire_all()
    return get_inspection(inspection_id, user=user)


def read_outcomes(*, user, district: str | None, date_from=None, date_to=None) -> dict:
    """The stored outcome figures an inspector (their districts) or an admin (all) may see."""
    visible = sorted(known_district_codes()) if user.role == "admin" else sorted(user.districts)
    if district is not None:
        if district not in known_district_codes():
            raise Invalid(errors={"district": [str(_l("Unknown district: %(code)s.", code=district))]})
        if district not in visible:
            raise NotFound()
        visible = [district]
    return outcomes.figures(districts=visible, date_from=date_from, date_to=date_to)


def escalate_unresolved_cases() -> int:
    """Alert the district's inspectors, once per case, about every case still unresolved after
    CASE_ESCALATION_AFTER_DAYS days from its confirmation."""
    days = current_app.config.get("CASE_ESCALATION_AFTER_DAYS", 30)
    cutoff = utcnow() - timedelta(days=days)
    escalated = exists().where(
        Alert.event_key == literal("escalation:case:") + cast(Inspection.id, String), Alert.kind == "escalation")
    resolved = exists().where(CaseResolution.inspection_id == Inspection.id)
    added, last_id = 0, 0
    while True:
        batch = db.session.execute(
            select(Inspection.id, Inspection.district, Inspection.reviewed_at, Site.id, Site.name)
            .join(Site, Site.id == Inspection.site_id)
            .where(Inspection.status == "confirmed", Inspection.reviewed_at < cutoff, Inspection.id > last_id,
                   ~resolved, ~escalated)
            .order_by(Inspection.id).limit(ESCALATION_BATCH)
        ).all()
        for inspection_id, district, confirmed_at, site_id, site_name in batch:
            added += create_alerts(
                kind="escalation", event_key=f"escalation:case:{inspection_id}", subject_type="inspection",
                subject_id=inspection_id, recipients=district_recipients(district),
                params={"message": "case_unresolved", "site_id": str(site_id), "site_name": site_name,
                        "district": district, "days": days, "confirmed_at": format_utc(confirmed_at)})
        db.session.commit()
        if len(batch) < ESCALATION_BATCH:
            return added
        last_id = batch[-1][0]
