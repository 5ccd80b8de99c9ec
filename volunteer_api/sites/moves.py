"""A site moved to another district takes its undecided reports along (inspections and savings alike)."""
from sqlalchemy import select

from ..audit.services import record_event
from ..database import db


def move_undecided(model, *, site_id: int, district: str, statuses: tuple[str, ...], object_type: str) -> list:
    """Lock the site's `model` rows in `statuses` that another district holds, audit `{object_type}.moved`
    for each and hand them to `district`; returns them, oldest first. Decided rows stay where they were decided.

    `model` has `site_id`, `status` and `district` columns; the caller alerts, stamps change numbers and commits.
    """
    moved = db.session.scalars(
        select(model).where(model.site_id == site_id, model.status.in_(statuses), model.district != district)
        .order_by(model.id).with_for_update()
    ).all()
    for row in moved:
        record_event(action=f"{object_type}.moved", object_type=object_type, object_id=row.id,
                     before={"district": row.district}, after={"district": district})
        row.district = district
    return moved
