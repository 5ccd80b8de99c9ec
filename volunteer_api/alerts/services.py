"""Alerts: who is told what, exactly once per event and recipient."""
from sqlalchemy import select

from ..extensions import db, insert_ignoring_duplicates
from ..inspections.models import Inspection
from ..jobs import job_handler
from ..people.models import InspectorDistrict, User
from ..savings.models import SavingsReport
from .models import Alert


def district_recipients(district: str) -> list[int]:
    """The active inspectors of the district; the active admins when it has none."""
    inspectors = db.session.scalars(
        select(User.id)
        .join(InspectorDistrict, InspectorDistrict.user_id == User.id)
        .where(InspectorDistrict.district == district, User.active.is_(True), User.role == "inspector")
        .order_by(User.id)
    ).all()
    return list(inspectors) or admin_recipients()


def admin_recipients() -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.role == "admin", User.active.is_(True)).order_by(User.id)))


def create_alerts(*, kind: str, event_key: str, subject_type: str, subject_id, recipients: list[int],
                  params: dict | None = None) -> int:
    """Put one alert per recipient in their inbox; a repeat of the same event adds nothing. Returns the count added."""
    rows = [
        {"recipient_id": recipient, "kind": kind, "event_key": event_key, "subject_type": subject_type,
         "subject_id": str(subject_id), "params": params or {}}
        for recipient in recipients
    ]
    return insert_ignoring_duplicates(Alert, rows)


@job_handler("alerts.notify_inspection_flagged")
def notify_inspection_flagged(*, inspection_id: int) -> int:
    """Alert the district's inspectors (or the admins) that an inspection was flagged."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None or not inspection.flagged:
        return 0
    return create_alerts(
        kind="inspection_flagged",
        event_key=f"inspection:{inspection.id}",
        subject_type="inspection",
        subject_id=inspection.id,
        recipients=district_recipients(inspection.district),
        params={"site_id": str(inspection.site_id), "district": inspection.district,
                "flag_reasons": list(inspection.flag_reasons), "severity": inspection.severity},
    )


@job_handler("alerts.notify_savings_pending")
def notify_savings_pending(*, saving_id: int) -> int:
    """Alert the district's inspectors (or the admins) that a savings report waits for verification."""
    report = db.session.get(SavingsReport, saving_id)
    if report is None or report.status != "pending":
        return 0
    return create_alerts(
        kind="savings_pending",
        event_key=f"saving:{report.id}",
        subject_type="saving",
        subject_id=report.id,
        recipients=district_recipients(report.district),
        params={"site_id": str(report.site_id), "district": report.district, "amount_tiyn": report.amount_tiyn},
    )
