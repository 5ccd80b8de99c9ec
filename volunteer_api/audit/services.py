"""The audit trail: every change of state appends an event in the changing transaction."""
from flask import g, has_request_context

from ..extensions import db
from .models import AuditEvent


def record_event(*, action: str, object_type: str, object_id, before: dict | None = None,
                 after: dict | None = None, actor_id: int | None = None) -> AuditEvent:
    """Append an audit event to the current transaction (sealed into the hash chain later)."""
    request_id = address = None
    if has_request_context():
        request_id = g.get("request_id")
        address = g.get("client_address")
        if actor_id is None and g.get("current_user") is not None:
            actor_id = g.current_user.id
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        request_id=request_id,
        address=address,
    )
    db.session.add(event)
    return event
