"""Filing, reading and reviewing inspections, the review loop (return, resubmit), and their photos."""
import hashlib
import logging
from datetime import timedelta
from functools import cache
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, func, null, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.models import AuditEvent
from ..audit.services import event_values, record_event, state_history
from ..auth.access import visible_to
from ..cases.models import CaseReferral, CaseResolution
from ..errors import Conflict, Invalid, NotFound
from ..database import advisory_lock, change_status_once, commit_keeping_loaded_state, db, dialect_insert
from ..ids import parse_id
from ..geo import distance_m
from ..idempotency import filed_before, request_hash
from ..jobs import enqueue, names
from ..pagination import keyset_page
from ..quotas import use_quota
from ..people.models import User
from ..sites.models import Site
from ..sites.moves import move_undecided
from ..change_numbers import SQLITE_WRITER_LOCK, change_seq_in_statement, next_change_seq
from ..timestamps import utcnow
from ..photo_storage import StoredObject, photo_storage
from . import photos as photo_files
from .flags import FLAG_REASONS, flag_reasons, is_on_site
from .models import UNDECIDED_STATUSES, Inspection, Photo, case_of, location_of

log = logging.getLogger(__name__)

MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_AGE = timedelta(days=30)
MAX_PHOTOS = 20


# The inspections the API answers with carry their photos (one query per page) and case (joined, none).
WITH_PHOTOS = (selectinload(Inspection.photos), joinedload(Inspection.referral), joinedload(Inspection.resolution))
# ... and who filed them about which site: joined into the same query, no extra one at all.
WITH_SUMMARIES = (*WITH_PHOTOS,
                  joinedload(Inspection.volunteer, innerjoin=True).load_only(User.full_name, User.badge_number),
                  joinedload(Inspection.site, innerjoin=True).load_only(Site.name, Site.district))
# The audit actions that change an inspection's state, as its history names them (the part after the dot).
HISTORY_ACTIONS = ("inspection.filed", "inspection.returned", "inspection.resubmitted", "inspection.confirmed",
                   "inspection.dismissed", "inspection.referred", "inspection.resolved")


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

    The hottest write of the system, so it runs as Core statements, not through the ORM's unit of work: on
    PostgreSQL the site is read together with the new row's id and change number, one statement inserts
    the row and its audit event (which needs that id for its key), and commit. SQLite stamps the change
    number after the insert (it needs the writer lock the insert takes).
    """
    body = {"client_uuid": str(client_uuid), "site_id": site_id, "captured_at": captured_at, "location": location,
            "checklist": checklist, "severity": severity, "notes": notes}
    now = utcnow()
    errors = {}
    if captured_at > now + MAX_CLOCK_AHEAD:
        errors["captured_at"] = [str(_l("The capture time is more than 10 minutes in the future."))]
    elif captured_at < now - MAX_AGE:
        errors["captured_at"] = [str(_l("The capture time is more than 30 days ago."))]
    site = _filing_site(parse_id(site_id)) if parse_id(site_id) is not None else None
    if site is None:
        errors["site_id"] = [str(_l("No such site."))]
    if errors:
        # A phone that was offline may retry an inspection filed in time, days ago: answer what was stored.
        stored = filed_before(Inspection, volunteer_id=volunteer_id, client_uuid=str(client_uuid), body=body,
                              conflict=_reused_uuid, options=WITH_SUMMARIES)
        if stored is not None:
            return stored, False
        raise Invalid(errors=errors)

    metres = distance_m(location["lat"], location["lon"], site.lat, site.lon)
    on_site = is_on_site(distance_m=metres, geofence_radius_m=site.geofence_radius_m, accuracy_m=location["accuracy_m"])
    reasons = flag_reasons(on_site=on_site, mock_location=location["mock"], severity=severity, checklist=checklist)
    values = dict(
        site_id=site.id, district=site.district, captured_at=captured_at, received_at=now, lat=location["lat"],
        lon=location["lon"], accuracy_m=location["accuracy_m"], mock_location=location["mock"], checklist=checklist,
        severity=severity, notes=notes, distance_m=round(metres, 1), on_site=on_site, flagged=bool(reasons),
        flag_reasons=reasons, status="submitted", volunteer_id=volunteer_id, client_uuid=str(client_uuid),
        request_hash=request_hash(body), updated_at=now, resubmissions=0, change_seq=site.change_seq or 0,
    )
    if site.next_id is not None:
        values["id"] = site.next_id
    row = _insert_filed(values)
    if row is None:
        return filed_before(Inspection, volunteer_id=volunteer_id, client_uuid=str(client_uuid), body=body,
                            conflict=_reused_uuid, options=WITH_SUMMARIES), False
    use_quota(user_id=volunteer_id, kind="inspections", now=now)
    inspection = Inspection(**row._mapping)  # the answer: not in the session, nothing to flush or reload
    set_committed_value(inspection, "photos", [])  # a new inspection has none: no query to find out
    set_committed_value(inspection, "referral", None)
    set_committed_value(inspection, "resolution", None)
    set_committed_value(inspection, "site", SiteSummary(site.id, site.name, site.district))
    set_committed_value(inspection, "volunteer", db.session.get(User, volunteer_id))  # loaded by authentication
    if inspection.flagged:
        enqueue(names.NOTIFY_INSPECTION_FLAGGED, inspection_id=inspection.id)
    if inspection.flagged or checklist.get("schedule_delay"):  # else no input of the site's risk changed
        enqueue(names.REASSESS_SITE_RISKS, site_ids=[inspection.site_id])
    if not inspection.change_seq:  # SQLite
        inspection.change_seq = next_change_seq()
        # updated_at named, or the column's onupdate would stamp a time the answer does not carry.
        db.session.execute(update(Inspection.__table__).where(Inspection.__table__.c.id == inspection.id)
                           .values(change_seq=inspection.change_seq, updated_at=inspection.updated_at))
    commit_keeping_loaded_state()
    return inspection, True


class SiteSummary(NamedTuple):
    """What an inspection's answer says of its site (sites.schemas.SiteSummarySchema)."""

    id: int
    name: str
    district: str


def _filing_site(site_id: int):
    """The site's columns a filing needs, and on PostgreSQL the new inspection's id and change number
    (nextval each) in the same round trip (both None on SQLite); None when there is no such site."""
    table = Site.__table__
    change_seq = change_seq_in_statement()
    if change_seq is None:
        next_id = change_seq = null()
    else:
        next_id = func.nextval(func.pg_get_serial_sequence("inspections", "id"))
    return db.session.execute(
        select(table.c.id, table.c.name, table.c.district, table.c.lat, table.c.lon, table.c.geofence_radius_m,
               next_id.label("next_id"), change_seq.label("change_seq")).where(table.c.id == site_id)
    ).first()


def _insert_filed(values: dict):
    """INSERT … ON CONFLICT DO NOTHING the inspection and, when it was new, its audit event; returns the new
    row (every column), or None when the volunteer's client_uuid is taken.

    PostgreSQL: one statement, built once per process with bound parameters (a construct built per
    request costs its building and its cache key: about what the unit of work cost); the event's key
    covers the inspection id, known beforehand. SQLite, which has no INSERT in a WITH: the same two
    inserts one after the other.
    """
    event = dict(action="inspection.filed", object_type="inspection", actor_id=values["volunteer_id"],
                 after=snapshot(Inspection(**values)))
    if "id" in values:
        row = {column.name: values.get(column.name) for column in Inspection.__table__.c}
        event_row = {f"event_{name}": value for name, value in event_values(object_id=values["id"], **event).items()}
        return db.session.execute(_filing_statement(), {**row, **event_row}).first()
    table = Inspection.__table__
    row = db.session.execute(dialect_insert()(table).values(**values).on_conflict_do_nothing()
                             .returning(*table.c)).first()
    if row is not None:
        record_event(object_id=row.id, **event)
    return row


@cache
def _filing_statement():
    """PostgreSQL: `WITH filed AS (INSERT INTO inspections … ON CONFLICT DO NOTHING RETURNING *), filed_event
    AS (INSERT INTO audit_events … SELECT :event_… FROM filed) SELECT * FROM filed`, every value a parameter
    (the inspection's by column name, the event's as event_<column>)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    table, events = Inspection.__table__, AuditEvent.__table__
    filed = (pg_insert(table).values({column.name: bindparam(column.name, type_=column.type) for column in table.c})
             .on_conflict_do_nothing().returning(*table.c).cte("filed"))
    columns = ["actor_id", "action", "object_type", "object_id", "before", "after", "request_id", "address",
               "created_at", "mac"]
    event = events.insert().from_select(columns, select(
        *(bindparam(f"event_{name}", type_=events.c[name].type) for name in columns)).select_from(filed))
    return select(filed).add_cte(event.cte("filed_event"))


def _reused_uuid() -> Conflict:
    return Conflict(_l("This client_uuid was already used for a different inspection."),
                    errors={"client_uuid": [str(_l("Already used with another body."))]})


def visible_inspections(user):
    """The inspections this user may see: a volunteer their own, an inspector their districts', an admin all."""
    return visible_to(user, select(Inspection).options(*WITH_SUMMARIES),
                      owner_column=Inspection.volunteer_id, district_column=Inspection.district)


def list_inspections(*, user, site_id: str | None = None, volunteer_id: str | None = None,
                     district: str | None = None, flagged: bool | None = None, status: str | None = None,
                     limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Inspections the user may see, newest first, by keyset: each as the mapping InspectionSchema dumps.

    The busiest read (every phone's list, the console's): its rows are read as plain rows, not ORM
    objects — building an identity-mapped object per inspection, volunteer and site cost more than the
    query — with the volunteer's and site's names joined in; the page's photos and cases follow in one
    query each (the cases only when the page holds a confirmed inspection).
    """
    table = Inspection.__table__
    query = visible_to(user, _listed_inspections(), owner_column=table.c.volunteer_id,
                       district_column=table.c.district)
    for value, column in ((site_id, table.c.site_id), (volunteer_id, table.c.volunteer_id)):
        if value is not None:
            query = query.where(column == parse_id(value)) if parse_id(value) is not None else query.where(False)
    if district is not None:
        query = query.where(table.c.district == district)
    if flagged is not None:
        query = query.where(table.c.flagged.is_(flagged))
    if status is not None:
        query = query.where(table.c.status == status)
    rows, next_cursor = keyset_page(query, key_columns=[table.c.id], limit=limit, cursor=cursor, as_rows=True)
    return _listed(rows), next_cursor


def _listed_inspections():
    """Every column of the inspections, and the names of their volunteers and sites."""
    table, users, sites = Inspection.__table__, User.__table__, Site.__table__
    return (select(table, users.c.full_name.label("volunteer_full_name"),
                   users.c.badge_number.label("volunteer_badge_number"), sites.c.name.label("site_name"))
            .join(users, users.c.id == table.c.volunteer_id).join(sites, sites.c.id == table.c.site_id))


def _listed(rows) -> list[dict]:
    """The page's rows as the mappings InspectionSchema dumps, with their photos and cases."""
    photos = {row.id: [] for row in rows}
    if photos:
        for photo in db.session.scalars(select(Photo).where(Photo.inspection_id.in_(photos)).order_by(Photo.id)):
            photos[photo.inspection_id].append(photo)
    confirmed = [row.id for row in rows if row.status == "confirmed"]
    referrals, resolutions = {}, {}
    if confirmed:
        referrals = {case.inspection_id: case for case in
                     db.session.scalars(select(CaseReferral).where(CaseReferral.inspection_id.in_(confirmed)))}
        resolutions = {case.inspection_id: case for case in
                       db.session.scalars(select(CaseResolution).where(CaseResolution.inspection_id.in_(confirmed)))}
    return [{**row._mapping, "location": location_of(row), "photos": photos[row.id],
             "volunteer": {"id": row.volunteer_id, "full_name": row.volunteer_full_name,
                           "badge_number": row.volunteer_badge_number},
             "site": {"id": row.site_id, "name": row.site_name, "district": row.district},
             "case": case_of(row.status, referrals.get(row.id), resolutions.get(row.id))}
            for row in rows]


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


def move_open_inspections(*, site_id: int, district: str) -> list[Inspection]:
    """Hand a site's inspections that still await a decision (submitted, or returned to their volunteer) to
    the district the site moved to: audited, and its inspectors alerted about the submitted flagged ones (a
    returned one alerts them when it is resubmitted). Decided ones stay with the district that decided them.

    The caller stamps their change numbers (the district is in the phone's copy) and commits.
    """
    moved = move_undecided(Inspection, site_id=site_id, district=district, statuses=UNDECIDED_STATUSES,
                           object_type="inspection")
    for inspection in moved:
        if inspection.flagged and inspection.status == "submitted":
            enqueue(names.NOTIFY_INSPECTION_FLAGGED, inspection_id=inspection.id)
    return moved


def review_inspection(inspection_id, *, reviewer, decision: str, comment: str) -> Inspection:
    """Confirm, dismiss or return a submitted inspection (inspector of its district, or admin).

    Of concurrent reviews exactly one wins; the others, and any review of a decided inspection, are a 409.
    A returned inspection goes back to its volunteer (who is alerted) and cannot be reviewed until they
    resubmit it.
    """
    inspection = get_inspection(inspection_id, user=reviewer)
    if not reviewer.covers_district(inspection.district):
        raise NotFound()
    now = utcnow()
    if not change_status_once(Inspection, inspection.id, from_status="submitted", status=decision,
                              reviewed_by_id=reviewer.id, reviewed_at=now, review_comment=comment, updated_at=now):
        db.session.rollback()
        if db.session.scalar(select(Inspection.status).where(Inspection.id == inspection.id)) == "returned":
            raise Conflict(_l("This inspection was returned to its volunteer; it can be reviewed once they resubmit it."))
        raise Conflict(_l("This inspection has already been reviewed."))
    db.session.refresh(inspection)
    record_event(action=f"inspection.{decision}", object_type="inspection", object_id=inspection.id,
                 before={"status": "submitted"}, after={**snapshot(inspection), "comment": comment},
                 actor_id=reviewer.id)
    if decision == "returned":
        # Numbered by the round: a second return after a resubmission is a new event for the volunteer.
        enqueue(names.NOTIFY_INSPECTION_RETURNED, inspection_id=inspection.id,
                round=inspection.resubmissions + 1, comment=comment)
    if decision == "confirmed":  # a new case
        enqueue(names.RECOMPUTE_OUTCOMES, district=inspection.district)
    enqueue(names.REASSESS_SITE_RISKS, site_ids=[inspection.site_id])
    inspection.change_seq = next_change_seq()
    db.session.commit()
    return inspection


def return_inspection(inspection_id, *, reviewer, comment: str) -> Inspection:
    """Send a submitted inspection back to its volunteer to complete (review_inspection with `returned`)."""
    return review_inspection(inspection_id, reviewer=reviewer, decision="returned", comment=comment)


def resubmit_inspection(inspection_id, *, user, notes: str | None = None) -> Inspection:
    """Send a returned inspection back to review (its author only), once per return.

    The district's inspectors are alerted again. Of concurrent resubmissions one wins on a conditional
    UPDATE; the others, and a resubmission of an inspection that is not returned, are a 409. `notes`
    (what the volunteer added) go to the inspection's history.
    """
    inspection = get_inspection(inspection_id, user=user)
    if inspection.volunteer_id != user.id:
        raise NotFound()
    if not change_status_once(Inspection, inspection.id, from_status="returned", status="submitted",
                              resubmissions=Inspection.resubmissions + 1, updated_at=utcnow()):
        db.session.rollback()
        raise Conflict(_l("Only an inspection returned to you can be resubmitted, once per return."))
    db.session.refresh(inspection)
    record_event(action="inspection.resubmitted", object_type="inspection", object_id=inspection.id,
                 before={"status": "returned"},
                 after={**snapshot(inspection), "resubmission": inspection.resubmissions, "comment": notes},
                 actor_id=user.id)
    enqueue(names.NOTIFY_INSPECTION_RESUBMITTED, inspection_id=inspection.id,
            resubmission=inspection.resubmissions)
    inspection.change_seq = next_change_seq()
    db.session.commit()
    return inspection


def inspection_history(inspection_id, *, user) -> list[dict]:
    """Every state change of an inspection the user may see, oldest first: at, by, action, comment."""
    inspection = get_inspection(inspection_id, user=user)
    return state_history(object_type="inspection", object_id=inspection.id, actions=HISTORY_ACTIONS)


def add_photo(inspection_id, *, user, stream, max_bytes: int) -> tuple[Photo, bool]:
    """Attach a photo to the author's inspection while it awaits review or is returned; returns (photo, created).

    The bytes are checked completely before anything is written; the same photo twice on one
    inspection answers the first upload, and identical bytes are stored once for everyone. The
    previews are made by a job after commit.

    Nothing slow runs inside a transaction that writes: a transaction id held while Pillow reads 10 MB
    or the store retries would hold back every phone's /sync (change_numbers.sync_horizon), a row lock
    and a pooled connection. So, in four steps:
    1. one unlocked read refuses other people's inspections (404), answers a retry with its photo, and
       refuses a reviewed inspection (409) or a full one (422) before anything is checked or charged;
    2. the bytes are checked, the daily quota charged (its own short transaction, before a byte reaches
       the store) and the bytes stored: content-addressed and write-once, so bytes whose row never lands
       are harmless, and a concurrent upload of the same bytes stores them once;
    3. the inspection is locked (on SQLite, where FOR UPDATE does nothing, the database's writer lock)
       and its photos read again after the lock: a concurrent identical upload answers the photo the
       first one added, and the status and the photo count are decided under the lock;
    4. the row is inserted and committed.
    """
    target_id = parse_id(inspection_id)
    if target_id is None:
        raise NotFound()
    user_id = user.id
    data = photo_files.read_limited(stream, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    seen = db.session.execute(_upload_target(target_id, user_id, sha256)).first()
    if seen is None:
        db.session.rollback()
        raise NotFound()
    if seen.Photo is not None:
        # A phone's retry of an upload whose answer it never got: the same answer, even after a review.
        commit_keeping_loaded_state()
        return seen.Photo, False
    _require_open(seen)
    _require_room(seen.photo_count)
    commit_keeping_loaded_state()  # a read: no transaction stays open while the bytes are checked and stored
    checked = photo_files.check_photo(data, sha256=sha256)
    use_quota(user_id=user_id, kind="photo_bytes", amount=len(checked.data))
    commit_keeping_loaded_state()
    try:
        photo_files.store_photo(checked)
    except Exception:
        _give_back_quota(user_id, len(checked.data))  # the store did not answer (503): nothing was added
        raise

    if db.session.get_bind().dialect.name == "sqlite":
        advisory_lock(SQLITE_WRITER_LOCK, sqlite_table=Photo.__tablename__)  # before the reads: no upgrade
    target = db.session.execute(
        select(Inspection.status)
        .where(Inspection.id == target_id, Inspection.volunteer_id == user_id)
        .with_for_update()
    ).first()
    # A statement of its own after the lock: in READ COMMITTED it sees what the lock's last holder committed.
    photos = db.session.scalars(select(Photo).where(Photo.inspection_id == target_id).order_by(Photo.id)).all()
    existing = next((photo for photo in photos if photo.sha256 == sha256), None)
    if target is None or existing is not None or target.status not in UNDECIDED_STATUSES or len(photos) >= MAX_PHOTOS:
        # Another request changed the inspection since step 1: the charge for the bytes is given back.
        _give_back_quota(user_id, len(checked.data))
        if existing is not None:  # a concurrent upload of the same bytes added it: the same answer
            return existing, False
        if target is None:
            raise NotFound()
        _require_open(target)
        _require_room(len(photos))
    photo = Photo(inspection_id=target_id, sha256=sha256, content_type=checked.content_type,
                  size_bytes=len(checked.data), width=checked.width, height=checked.height,
                  exif_taken_at=checked.taken_at,
                  photo_time_mismatch=photo_files.time_mismatch(checked.taken_at, seen.captured_at))
    if checked.gps is not None:
        photo.exif_lat, photo.exif_lon = checked.gps
        photo.exif_distance_m = round(distance_m(checked.gps[0], checked.gps[1], seen.lat, seen.lon), 1)
    # The lock (or SQLite's writer lock) is held: no other transaction adds a photo to this inspection
    # now, so the unique (inspection_id, sha256) cannot be hit and no savepoint guards the insert.
    db.session.add(photo)
    db.session.flush()
    record_event(action="inspection.photo_added", object_type="inspection", object_id=target_id,
                 after={"photo_id": str(photo.id), "sha256": photo.sha256, "content_type": photo.content_type,
                        "exif_distance_m": photo.exif_distance_m}, actor_id=user_id)
    enqueue(names.MAKE_PHOTO_PREVIEWS, sha256=photo.sha256)
    commit_keeping_loaded_state()  # the answer is the row just written: no reload
    return photo, True


def _upload_target(inspection_id: int, user_id: int, sha256: str):
    """The author's inspection (404 for anyone else's), its photo count and its photo of these bytes, if any."""
    photo_count = (select(func.count()).select_from(Photo).where(Photo.inspection_id == Inspection.id)
                   .correlate(Inspection).scalar_subquery())
    return (
        select(Inspection.status, Inspection.captured_at, Site.lat, Site.lon, photo_count.label("photo_count"), Photo)
        .join(Site, Site.id == Inspection.site_id)
        .outerjoin(Photo, (Photo.inspection_id == Inspection.id) & (Photo.sha256 == sha256))
        .where(Inspection.id == inspection_id, Inspection.volunteer_id == user_id)
    )


def _give_back_quota(user_id: int, size: int) -> None:
    """Undo an upload's charge against the daily photo bytes when its photo was not added after all."""
    use_quota(user_id=user_id, kind="photo_bytes", amount=-size)
    commit_keeping_loaded_state()


def _require_open(inspection) -> None:
    # Photos are evidence for the review: they may be added while it is undecided (submitted or returned).
    if inspection.status not in UNDECIDED_STATUSES:
        db.session.rollback()
        raise Conflict(_l("Photos can only be added before the inspection is reviewed."))


def _require_room(photo_count: int) -> None:
    if photo_count >= MAX_PHOTOS:
        db.session.rollback()
        raise Invalid(errors={"file": [str(_l("At most %(count)s photos per inspection.", count=MAX_PHOTOS))]})


def list_photos(inspection_id, *, user) -> list[Photo]:
    """The photos of an inspection the user may see, in upload order; NotFound otherwise."""
    return list(get_inspection(inspection_id, user=user).photos)


def get_photo(inspection_id, photo_id, *, user) -> Photo:
    """One photo of an inspection the user may see; NotFound for anyone else and for another inspection's photo."""
    inspection = get_inspection(inspection_id, user=user)
    photo = next((p for p in inspection.photos if p.id == parse_id(photo_id)), None)
    if photo is None:
        raise NotFound()
    return photo


def open_photo(photo: Photo) -> StoredObject:
    """The original bytes exactly as uploaded, opened for streaming (the caller closes the file)."""
    return photo_storage().open(photo_files.original_key(photo.sha256))


def open_preview(photo: Photo, size: int) -> StoredObject:
    """A preview (320 or 1280 px), opened for streaming; made now when the job has not made it yet."""
    storage = photo_storage()
    key = photo_files.preview_key(photo.sha256, size)
    if not storage.exists(key):
        photo_files.make_preview(photo.sha256, size)
    return storage.open(key)


# Below this a photo's EXIF position and the reported point differ by the GPS's own scatter, however
# precise the phone claimed to be.
PHOTO_FAR_FROM_REPORT_M = 100


def photo_against_report(photo: Photo, inspection: Inspection) -> dict:
    """What a photo's camera says against what the phone reported when filing.

    `from_report_m`: metres from the EXIF position to the reported point (None without EXIF GPS);
    `from_site_m`: to the site (stored at upload); `taken_at`: the EXIF time (None without one);
    `time_mismatch`: more than a day from captured_at (photo_time_mismatch); `far_from_report`: the EXIF
    position further from the reported point than the phone's accuracy, and at least PHOTO_FAR_FROM_REPORT_M.
    """
    from_report = None
    if photo.exif_lat is not None and photo.exif_lon is not None:
        from_report = round(distance_m(photo.exif_lat, photo.exif_lon, inspection.lat, inspection.lon), 1)
    far = from_report is not None and from_report > max(inspection.accuracy_m, PHOTO_FAR_FROM_REPORT_M)
    return {"from_report_m": from_report, "from_site_m": photo.exif_distance_m, "taken_at": photo.exif_taken_at,
            "time_mismatch": bool(photo.photo_time_mismatch), "far_from_report": far}


def make_previews(*, sha256: str) -> int:
    """Make the missing previews of a stored original; returns how many this run made.

    The original passed check_photo at upload (no bomb, no broken file reaches here). A store that does
    not have it (a worker pointed at another UPLOAD_DIR) leaves the previews to be made on first request.
    """
    if not photo_storage().exists(photo_files.original_key(sha256)):
        log.warning("photo %s is not in this worker's store; its previews will be made on request", sha256)
        return 0
    return sum(photo_files.make_preview(sha256, size) for size in photo_files.PREVIEW_SIZES)


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
