"""The inspectors' screens: the queue, an inspection, a savings report, the inbox.

Each view reads its arguments, makes the service calls the API's views make, and renders a template.
"""
from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound as NotFoundPage

from ..alerts import services as alerts
from ..cases import services as cases
from ..cases.schemas import ReferralCreateSchema, ResolutionCreateSchema
from ..districts.services import list_districts
from ..downloads import stored_object_response
from ..errors import DomainError
from ..inspections import services as inspections
from ..inspections.models import INSPECTION_STATUSES
from ..inspections.photos import PREVIEW_SIZES
from ..pagination import encode_cursor
from ..people.services import users_by_id
from ..savings import services as savings
from ..sites.services import get_site, sites_by_id
from ..timestamps import utcnow
from .forms import load_form, local_input_time, refusal
from .formatting import duration, local_input_now, local_time
from .session import page_roles

blp = Blueprint("review", __name__)
STAFF = ("inspector", "admin")
PAGE_SIZE = 25
INSPECTION_FILTERS = ("district", "site_id", "flag_reason", "severity")
DECISIONS = {"confirmed": _l("Confirm"), "dismissed": _l("Dismiss")}
SAVING_DECISIONS = {"approved": _l("Approve"), "rejected": _l("Reject")}
# Every decision changes state: the page asks first.
CONFIRM_TEXTS = {"confirmed": _l("Confirm this inspection?"), "dismissed": _l("Dismiss this inspection?"),
                 "returned": _l("Return this inspection to the volunteer?"),
                 "approved": _l("Approve this savings report?"), "rejected": _l("Reject this savings report?")}


def _filters(names) -> dict:
    return {name: request.args.get(name) or None for name in names}


def _deadline(received_at):
    """When an unreviewed flagged inspection is escalated to the admins, and how that compares with now."""
    due = received_at + timedelta(hours=current_app.config["ESCALATION_AFTER_HOURS"])
    left = due - utcnow()
    return {"due": due, "overdue": left.total_seconds() < 0, "soon": timedelta(0) <= left < timedelta(hours=6),
            "left": duration(left), "age": _age(received_at)}


def _age(moment) -> str:
    return duration(utcnow() - moment)


def _decision_names() -> dict:
    """The decisions the review service takes (`returned` once the review loop has it)."""
    names = dict(DECISIONS)
    if "returned" in INSPECTION_STATUSES:
        names["returned"] = _l("Return to the volunteer")
    return names


@blp.get("/")
@page_roles(*STAFF)
def queue():
    """The review queue: flagged inspections (or pending savings) of the reviewer's districts, oldest first."""
    user, kind = g.current_user, request.args.get("kind", "inspections")
    cursor = request.args.get("cursor") or None
    filters = _filters(INSPECTION_FILTERS)
    status = request.args.get("status") or "submitted"
    saving_filters = {"district": filters["district"], "site_id": filters["site_id"]}
    counts = {"inspections": inspections.count_review_queue(user=user, status=status, **filters),
              "savings": savings.count_pending_savings(user=user, **saving_filters)}
    if kind == "savings":
        rows, next_cursor = savings.list_pending_savings(user=user, limit=PAGE_SIZE, cursor=cursor, **saving_filters)
    else:
        kind = "inspections"
        rows, next_cursor = inspections.list_review_queue(user=user, limit=PAGE_SIZE, cursor=cursor, status=status,
                                                          **filters)
    sites = sites_by_id(row.site_id for row in rows)
    people = users_by_id(row.volunteer_id for row in rows)
    timing = {row.id: _deadline(row.received_at) if kind == "inspections" else {"age": _age(row.created_at)}
              for row in rows}
    districts = [d for d in list_districts() if user.covers_district(d.code)]
    args = {k: v for k, v in {**filters, "kind": kind, "status": request.args.get("status")}.items() if v}
    template = "console/queue_rows.html" if request.headers.get("HX-Request") else "console/queue.html"
    return render_template(template, nav="queue", kind=kind, rows=rows, sites=sites, people=people, timing=timing,
                           counts=counts, filters=filters, status=status, districts=districts, args=args,
                           next_cursor=next_cursor, statuses=inspections.REVIEW_QUEUE_STATUSES)


def _queue_args(source) -> dict:
    """The queue's filters, carried from page to page so j/k and "next" stay in the same queue."""
    return {k: v for k, v in source.items() if k in INSPECTION_FILTERS + ("status",) and v}


def _neighbour_in_queue(inspection_id: int, queue_args: dict, *, previous: bool = False):
    """The id of the queue's next (or previous) inspection beside this one, or None at that end."""
    found, _ = inspections.list_review_queue(user=g.current_user, limit=1, cursor=encode_cursor([int(inspection_id)]),
                                             newest_first=previous,
                                             **{**dict.fromkeys(INSPECTION_FILTERS), **queue_args})
    return found[0].id if found else None


@blp.get("/inspections/<id:inspection_id>")
@page_roles(*STAFF)
def inspection(inspection_id):
    """An inspection: the site, the volunteer, the checklist, flags, photos, the history, the decision."""
    return _inspection_page(inspection_id, _queue_args(request.args))


def _inspection_page(inspection_id, queue_args: dict, *, error=None, case_errors=None, case_form=None,
                     status: int = 200):
    item = inspections.get_inspection(inspection_id, user=g.current_user)
    site = get_site(item.site_id)
    volunteer = users_by_id([item.volunteer_id]).get(item.volunteer_id)
    covers = g.current_user.covers_district(item.district)
    can_decide = item.status == "submitted" and covers
    return render_template(
        "console/inspection.html", nav="queue", item=item, site=site, volunteer=volunteer,
        history=inspections.inspection_history(item.id, user=g.current_user),
        photos=list(item.photos), decisions=_decision_names(), can_decide=can_decide,
        deadline=_deadline(item.received_at), next_id=_neighbour_in_queue(item.id, queue_args),
        previous_id=_neighbour_in_queue(item.id, queue_args, previous=True), queue_args=queue_args,
        error=error, map_data=_map_data(site, item), done=request.args.get("done"),
        case_open=item.status == "confirmed" and covers, case_errors=case_errors or {}, case_form=case_form or {},
        case_done=request.args.get("case"), now_local=local_input_now()), status


def map_background() -> dict:
    """What every console map starts from: the tile server if one is configured, and the district centres
    labelled (with no tiles they are the only landmarks, so the map is never a blank or broken box)."""
    language = str(get_locale())
    return {"tiles": current_app.config.get("MAP_TILES_URL"),
            "attribution": current_app.config.get("MAP_TILES_ATTRIBUTION", ""),
            "districts": [{"name": d.name_in(language), "lat": d.lat, "lon": d.lon} for d in list_districts()]}


def _map_data(site, item) -> dict:
    return {**map_background(),
            "site": {"lat": site.lat, "lon": site.lon, "radius": site.geofence_radius_m, "name": site.name},
            "point": {"lat": item.lat, "lon": item.lon, "accuracy": item.accuracy_m}}


@blp.post("/inspections/<id:inspection_id>/review")
@page_roles(*STAFF)
def review_inspection(inspection_id):
    """Decide an inspection with a comment, then go on to the next one of the queue."""
    decision, comment = request.form.get("decision", ""), request.form.get("comment", "").strip()
    queue_args = _queue_args(request.form)
    if decision not in _decision_names():
        return _inspection_page(inspection_id, queue_args, error=_l("Choose a decision."), status=422)
    if not comment:
        return _inspection_page(inspection_id, queue_args, error=_l("Write a comment for the decision."), status=422)
    next_id = _neighbour_in_queue(inspection_id, queue_args)
    try:
        inspections.review_inspection(inspection_id, reviewer=g.current_user, decision=decision, comment=comment)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _inspection_page(inspection_id, queue_args, error=exc.detail, status=exc.status)
    target = url_for("console.review.inspection", inspection_id=next_id, done=inspection_id, **queue_args) \
        if next_id else url_for("console.review.queue", done=inspection_id, **queue_args)
    return redirect(target, 303)


def _case_step_form(step, schema, record) -> tuple:
    """(schema, recording function, text fields, time field) of a case step's form, from the step itself."""
    return schema, record, tuple(name for name in schema().fields if name != step.time_field), step.time_field


# A confirmed inspection is a case: its referral and its resolution, each recorded once (cases.services).
CASE_STEPS = {
    cases.REFERRAL.name: _case_step_form(cases.REFERRAL, ReferralCreateSchema, cases.refer_case),
    cases.RESOLUTION.name: _case_step_form(cases.RESOLUTION, ResolutionCreateSchema, cases.resolve_case),
}


@blp.post("/inspections/<id:inspection_id>/referral")
@page_roles(*STAFF)
def refer_case(inspection_id):
    """Record where a confirmed inspection's case was referred (once)."""
    return _record_case_step(inspection_id, "referral")


@blp.post("/inspections/<id:inspection_id>/resolution")
@page_roles(*STAFF)
def resolve_case(inspection_id):
    """Record how a confirmed inspection's case ended (once)."""
    return _record_case_step(inspection_id, "resolution")


def _record_case_step(inspection_id, step: str):
    schema, record, text_fields, time_field = CASE_STEPS[step]
    form = {name: request.form.get(name, "").strip() for name in text_fields if request.form.get(name, "").strip()}
    form[time_field] = local_input_time(request.form.get(time_field, "").strip())
    data, errors = load_form(schema(), {k: v for k, v in form.items() if v is not None})
    status = 422
    if data is not None:
        try:
            record(inspection_id, user=g.current_user, **data)
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors, status = refusal(exc), exc.status  # 409: already recorded, or not a confirmed inspection
        else:
            return redirect(url_for("console.review.inspection", inspection_id=inspection_id, case=step), 303)
    return _inspection_page(inspection_id, {}, case_errors={step: errors}, case_form={step: request.form},
                            status=status)


@blp.get("/savings/<id:saving_id>")
@page_roles(*STAFF)
def saving(saving_id):
    """A savings report: the amount and evidence against the site's budget and what was approved on it."""
    return _saving_page(saving_id)


def _saving_page(saving_id, *, error=None, status: int = 200):
    report = savings.get_saving(user=g.current_user, saving_id=saving_id)
    site = get_site(report.site_id)
    volunteer = users_by_id([report.volunteer_id]).get(report.volunteer_id)
    can_decide = report.status == "pending" and g.current_user.covers_district(report.district)
    return render_template("console/saving.html", nav="queue", report=report, site=site, volunteer=volunteer,
                           decisions=SAVING_DECISIONS, error=error, age=_age(report.created_at),
                           can_decide=can_decide), status


@blp.post("/savings/<id:saving_id>/review")
@page_roles(*STAFF)
def review_saving(saving_id):
    """Approve or reject a savings report with a comment."""
    decision, comment = request.form.get("decision", ""), request.form.get("comment", "").strip()
    if decision not in SAVING_DECISIONS:
        return _saving_page(saving_id, error=_l("Choose a decision."), status=422)
    try:
        savings.review_saving(user=g.current_user, saving_id=saving_id, decision=decision, comment=comment or None)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _saving_page(saving_id, error=exc.detail, status=exc.status)
    return redirect(url_for("console.review.queue", kind="savings", done_saving=saving_id), 303)


@blp.get("/inbox")
@page_roles(*STAFF)
def inbox():
    """The inbox: the reader's alerts, newest first, unread ones marked."""
    unread_only = request.args.get("unread") == "1"
    rows, next_cursor = alerts.list_alerts(user=g.current_user, unread=unread_only, limit=PAGE_SIZE,
                                           cursor=request.args.get("cursor") or None)
    items = alerts.render_for_reader(rows, str(get_locale()))
    return render_template("console/inbox.html", nav="inbox", items=items, next_cursor=next_cursor,
                           unread_only=unread_only)


@blp.get("/inbox/unread-count")
@page_roles(*STAFF, touch=False)
def unread_count():
    """The unread count badge, polled by the page (it does not keep an idle session alive)."""
    return render_template("console/unread_count.html", count=alerts.count_unread(user=g.current_user))


@blp.post("/inbox/<id:alert_id>/read")
@page_roles(*STAFF)
def mark_read(alert_id):
    """Mark an alert read (and, with `open`, go to its subject)."""
    alert = alerts.mark_alert_read(user=g.current_user, alert_id=alert_id)
    if request.form.get("open"):
        return redirect(_subject_url(alert.subject_type, alert.subject_id), 303)
    if request.headers.get("HX-Request"):
        item = alerts.render_for_reader([alert], str(get_locale()))[0]
        return render_template("console/inbox_item.html", item=item)
    return redirect(url_for("console.review.inbox"), 303)


def _subject_url(subject_type: str, subject_id: str) -> str:
    if subject_type == "inspection":
        return url_for("console.review.inspection", inspection_id=subject_id)
    if subject_type == "saving":
        return url_for("console.review.saving", saving_id=subject_id)
    return url_for("console.admin.totals") if g.current_user.role == "admin" else url_for("console.review.queue")


@blp.get("/inspections/<id:inspection_id>/photos/<id:photo_id>")
@page_roles(*STAFF)
def photo_original(inspection_id, photo_id):
    """A photo's original bytes exactly as uploaded (the API's photo service, for the console's session)."""
    photo = inspections.get_photo(inspection_id, photo_id, user=g.current_user)
    return stored_object_response(lambda: inspections.open_photo(photo), mimetype=photo.content_type,
                                  etag=photo.sha256)


@blp.get("/inspections/<id:inspection_id>/photos/<id:photo_id>/preview/<int:size>")
@page_roles(*STAFF)
def photo_preview(inspection_id, photo_id, size):
    """A photo's JPEG preview (320 or 1280 px), upright and without metadata."""
    if size not in PREVIEW_SIZES:
        raise NotFoundPage()
    photo = inspections.get_photo(inspection_id, photo_id, user=g.current_user)
    return stored_object_response(lambda: inspections.open_preview(photo, size), mimetype="image/jpeg",
                                  etag=f"{photo.sha256}-preview-{size}")


def photo_evidence(photo, item) -> dict:
    """What the camera says against what the phone reported, in words: position, time, and a warning."""
    facts = inspections.photo_against_report(photo, item)
    position = str(_l("no EXIF position"))
    if facts["from_report_m"] is not None:
        position = str(_l("EXIF position %(m)s m from the reported point (%(site)s m from the site)",
                          m=round(facts["from_report_m"]), site=round(facts["from_site_m"] or 0)))
    time = str(_l("no EXIF time"))
    if facts["taken_at"] is not None:
        time = str(_l("taken %(taken)s; reported %(reported)s", taken=local_time(facts["taken_at"]),
                      reported=local_time(item.captured_at)))
    return {"position": position, "time": time, "time_mismatch": facts["time_mismatch"],
            "far": facts["far_from_report"],
            "caption": f"{position}; {time}"}


def init_app(app) -> None:
    app.jinja_env.globals.update(subject_url=_subject_url, photo_evidence=photo_evidence,
                           confirm_texts=CONFIRM_TEXTS)
