"""Filing, reading and reviewing inspections, and attaching their photos."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.services import record_event
from ..auth.access import visible_to
from ..errors import Conflict, Invalid, NotFound
from ..database import change_status_once, commit_keeping_loaded_state, db
from ..ids import parse_id
from ..geo import distance_m
from ..idempotency import file_once, filed_before
from ..jobs import enqueue, names
from ..pagination import keyset_page
from ..sites.models import Site
from ..change_numbers import next_change_seq
from ..timestamps import utcnow
from . import photos as photo_files
from .flags import FLAG_REASONS, flag_reasons, is_on_site
from .models import Inspection, Photo

MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_AGE = timedelta(days=30)
MAX_PHOTOS = 20


# The inspections the API answers with carry their photos and case: extra queries per page, not per row.
WITH_PHOTOS = (selectinload(Inspection.photos), selectinload(Inspection.referral),
               selectinload(Inspection.resolution))

def snapshot(inspection: Inspection) -> dict:
    """The audited state of an inspection."""
    return {
        "site_id": str(inspection.site_id), "status": inspection.status, "flagged": inspection.flagged,
        "flag_reasons": list(inspection.flag_reasons), "on_site": inspection.on_site,
        "distance_m": inspection.distance_m, "severity": inspection.severity,
        "review_comment": inspection.review_comment,
    }


def file_inspection(*, volunteer_id: int, client_uuid, site_id: str, captured_at, location: dict,
                    checklist: dict, severity: str, notes: str | None) -> tuple[Inspection, bool]:
    """File a volunteer's inspection once per client_uuid; returns (inspection, created).

    A retry with the same body answers the stored inspection; another body under the same uuid is a 409.
    Concurrent retries meet at the unique (volunteer_id, client_uuid): one insert wins, the rest replay it.
    """
    body = {"client_uuid": str(client_uuid), "site_id": site_id, "captured_at": captured_at, "location": location,
            "checklist": checklist, "severity": severity, "notes": notes}
    now = utcnow()
    errors = {}
    if captured_at > now + MAX_CLOCK_AHEAD:
        errors["captured_at"] = [str(_l("The capture time is more than 10 minutes in the future."))]
    elif captured_at < now - MAX_AGE:
        errors["captured_at"] = [str(_l("The capture time is more than 30 days ago."))]
    site = db.session.get(Site, parse_id(site_id)) if parse_id(site_id) is not None else None
    if site is None:
        errors["site_id"] = [str(_l("No such site."))]
    if errors:
        # A phone that was offline may retry an inspection filed in time, days ago: answer what was stored.
        stored = filed_before(Inspection, volunteer_id=volunteer_id, client_uuid=str(client_uuid), body=body,
                              conflict=_reused_uuid, options=WITH_PHOTOS)
        if stored is not None:
            return stored, False
        raise Invalid(errors=errors)

    metres = distance_m(location["lat"], location["lon"], site.lat, site.lon)
    on_site = is_on_site(distance_m=metres, geofence_radius_m=site.geofence_radius_m, accuracy_m=location["accuracy_m"])
    reasons = flag_reasons(on_site=on_site, mock_location=location["mock"], severity=severity, checklist=checklist)
    inspection, created = file_once(Inspection, dict(
        site_id=site.id, district=site.district, captured_at=captured_at, received_at=now, lat=location["lat"], lon=location["lon"],
        accuracy_m=location["accuracy_m"], mock_location=location["mock"], checklist=checklist, severity=severity,
        notes=notes, distance_m=round(metres, 1), on_site=on_site, flagged=bool(reasons), flag_reasons=reasons,
        status="submitted",
    ), volunteer_id=volunteer_id, client_uuid=str(client_uuid), body=body, conflict=_reused_uuid)
    if not created:
        return inspection, False
    set_committed_value(inspection, "photos", [])  # a new inspection has none: no query to find out
    record_event(action="inspection.filed", object_type="inspection", object_id=inspection.id,
                 after=snapshot(inspection), actor_id=volunteer_id)
    if inspection.flagged:
        enqueue(names.NOTIFY_INSPECTION_FLAGGED, inspection_id=inspection.id)
    if inspection.flagged or checklist.get("schedule_delay"):  # else no input of the site's risk changed
        enqueue(names.REASSESS_SITE_RISKS, site_ids=[inspection.site_id])
    inspection.change_seq = next_change_seq()
    commit_keeping_loaded_state()
    return inspection, True


def _reused_uuid() -> Conflict:
    return Conflict(_l("This client_uuid was already used for a different inspection."),
                    errors={"client_uuid": [str(_l("Already used with another body."))]})


def visible_inspections(user):
    """The inspections this user may see: a volunteer their own, an inspector their districts', an admin all."""
    return visible_to(user, select(Inspection).options(*WITH_PHOTOS),
                      owner_column=Inspection.volunteer_id, district_column=Inspection.district)


def list_inspections(*, user, site_id: str | None = None, volunteer_id: str | None = None,
                     district: str | None = None, flagged: bool | None = None, status: str | None = None,
                     limit: int, cursor: str | None):
    """Inspections the user may see, newest first, by keyset."""
    query = visible_inspections(user)
    for value, column in ((site_id, Inspection.site_id), (volunteer_id, Inspection.volunteer_id)):
        if value is not None:
            query = query.where(column == parse_id(value)) if parse_id(value) is not None else query.where(False)
    if district is not None:
        query = query.where(Inspection.district == district)
    if flagged is not None:
        query = query.where(Inspection.flagged.is_(flagged))
    if status is not None:
        query = query.where(Inspection.status == status)
    return keyset_page(query, key_columns=[Inspection.id], limit=limit, cursor=cursor)


def get_inspection(inspection_id, *, user) -> Inspection:
    """The inspection, when the user may see it; NotFound otherwise (also for others' inspections)."""
    if parse_id(inspection_id) is None:
        raise NotFound()
    inspection = db.session.scalars(
        visible_inspections(user).where(Inspection.id == parse_id(inspection_id))
    ).one_or_none()
    if inspection is None:
        raise NotFound()
    return inspection


def review_inspection(inspection_id, *, reviewer, decision: str, comment: str) -> Inspection:
    """Confirm or dismiss an inspection, once: of two concurrent reviews exactly one wins, the other is a 409."""
    inspection = get_inspection(inspection_id, user=reviewer)
    if not reviewer.covers_district(inspection.district):
        raise NotFound()
    now = utcnow()
    if not change_status_once(Inspection, inspection.id, from_status="submitted", status=decision,
                              reviewed_by_id=reviewer.id, reviewed_at=now, review_comment=comment, updated_at=now):
        db.session.rollback()
        raise Conflict(_l("This inspection has already been reviewed."))
    db.session.refresh(inspection)
    record_event(action=f"inspection.{decision}", object_type="inspection", object_id=inspection.id,
                 before={"status": "submitted"}, after=snapshot(inspection))
    if decision == "confirmed":  # a new case
        enqueue(names.RECOMPUTE_OUTCOMES, district=inspection.district)
    enqueue(names.REASSESS_SITE_RISKS, site_ids=[inspection.site_id])
    inspection.change_seq = next_change_seq()
    db.session.commit()
    return inspection


def add_photo(inspection_id, *, user, stream, max_bytes: int) -> tuple[Photo, bool]:
    """Attach a photo to the author's inspection before its review; returns (photo, created).

    The bytes are checked completely before anything is written; the same photo twice on one
    inspection answers the first upload, and identical bytes are stored on disk once for everyone.
    """
    inspection = get_inspection(inspection_id, user=user)
    if inspection.volunteer_id != user.id:
        raise NotFound()
    checked = photo_files.check_photo(photo_files.read_limited(stream, max_bytes))
    if (existing := _photo(inspection.id, checked.sha256)) is not None:
        # A phone's retry of an upload whose answer it never got: the same answer, even after a review.
        db.session.rollback()
        return existing, False
    _require_open(inspection)

    # Lock the inspection against a concurrent review and a concurrent upload (the photo count must hold);
    # SQLite has one writer anyway. Then re-read it.
    inspection = db.session.scalars(
        select(Inspection).where(Inspection.id == inspection.id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    _require_open(inspection)
    existing = _photo(inspection.id, checked.sha256)
    if existing is not None:
        db.session.rollback()
        return existing, False
    if len(inspection.photos) >= MAX_PHOTOS:
        raise Invalid(errors={"file": [str(_l("At most %(count)s photos per inspection.", count=MAX_PHOTOS))]})
    photo_files.store_photo(checked)
    photo = Photo(inspection_id=inspection.id, sha256=checked.sha256, content_type=checked.content_type,
                  size_bytes=len(checked.data), width=checked.width, height=checked.height)
    if checked.gps is not None:
        photo.exif_lat, photo.exif_lon = checked.gps
        site = db.session.get(Site, inspection.site_id)
        photo.exif_distance_m = round(distance_m(checked.gps[0], checked.gps[1], site.lat, site.lon), 1)
    try:
        with db.session.begin_nested():
            db.session.add(photo)
    except IntegrityError:
        existing = _photo(inspection.id, checked.sha256)
        if existing is None:
            raise
        db.session.rollback()
        return existing, False
    record_event(action="inspection.photo_added", object_type="inspection", object_id=inspection.id,
                 after={"photo_id": str(photo.id), "sha256": photo.sha256, "content_type": photo.content_type,
                        "exif_distance_m": photo.exif_distance_m})
    db.session.commit()
    return photo, True


def _require_open(inspection: Inspection) -> None:
    if inspection.status != "submitted":
        db.session.rollback()
        raise Conflict(_l("Photos can only be added before the inspection is reviewed."))


def _photo(inspection_id: int, sha256: str) -> Photo | None:
    return db.session.scalars(
        select(Photo).where(Photo.inspection_id == inspection_id, Photo.sha256 == sha256)
    ).one_or_none()


REVIEW_QUEUE_STATUSES = ("submitted",)


def _review_queue_query(user, *, district: str | None = None, site_id: str | None = None,
                        flag_reason: str | None = None, severity: str | None = None, status: str = "submitted"):
    """Flagged inspections awaiting a decision that this reviewer covers (an admin every district's).

    An inspector sees every one of their districts' inspections, also those filed before they were added.
    """
    query = visible_to(user, select(Inspection), owner_column=Inspection.volunteer_id,
                       district_column=Inspection.district)
    query = query.where(Inspection.flagged.is_(True), Inspection.status == status)
    if district:
        query = query.where(Inspection.district == district)
    if site_id:
        query = query.where(Inspection.site_id == parse_id(site_id)) if parse_id(site_id) else query.where(False)
    if flag_reason:
        if flag_reason not in FLAG_REASONS:
            return query.where(False)
        # flag_reasons is a JSON list of fixed identifiers: its text holds the quoted name on every backend.
        query = query.where(cast(Inspection.flag_reasons, String).like(f'%"{flag_reason}"%'))
    if severity:
        query = query.where(Inspection.severity == severity)
    return query


def list_review_queue(*, user, limit: int, cursor: str | None, newest_first: bool = False,
                      **filters) -> tuple[list[Inspection], str | None]:
    """The reviewer's queue of flagged inspections, oldest first (or newest first: the way back), by keyset.

    Filters: district, site_id, flag_reason, severity, status (default submitted).
    """
    return keyset_page(_review_queue_query(user, **filters), key_columns=[Inspection.id], limit=limit,
                       cursor=cursor, descending=newest_first)


def count_review_queue(*, user, **filters) -> int:
    """How many inspections the reviewer's queue holds with these filters."""
    return db.session.scalar(select(func.count()).select_from(_review_queue_query(user, **filters).subquery()))
