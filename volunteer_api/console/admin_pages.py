"""The administrators' screens: volunteers (and their CSV import with printable slips), inspectors, the
sites register, the totals, the audit trail and the dead jobs. The totals are open to inspectors too.

Forms are read with the API's own schemas and handed to the same services; a refusal is shown on the page.
"""
from datetime import date

from flask import Blueprint, Response, g, redirect, render_template, request, send_file, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..audit import services as audit
from ..audit import verifications as audit_verifications
from ..csv_import import read_csv_rows
from ..districts.services import list_districts
from ..errors import DomainError, Invalid, flatten_errors
from ..inspections import services as inspections
from ..operations.services import list_jobs, retry_dead_job
from ..people import services as people
from ..people.schemas import InspectorCreateSchema, VolunteerCreateSchema
from ..savings import exports
from ..savings import services as savings
from ..savings.totals import MILESTONE_STEP_TIYN
from ..sites import services as sites
from ..sites.schemas import SiteCreateSchema, SiteUpdateSchema
from .forms import load_form as _load
from .forms import refusal as _refusal
from .review_pages import map_background
from .session import page_roles

blp = Blueprint("admin", __name__)
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _form_text(*names) -> dict:
    """The non-empty text fields of the form (an empty field is a field not given, as in the API)."""
    return {name: request.form[name].strip() for name in names if request.form.get(name, "").strip()}


def _uploaded_csv() -> bytes | None:
    upload = request.files.get("file")
    return upload.read() if upload and upload.filename else None


# Volunteers ------------------------------------------------------------------------------------------

@blp.get("/volunteers")
@page_roles("admin")
def volunteers():
    """Volunteers: search by name, phone or badge; filter by district and state; register one."""
    args = {"search": request.args.get("q") or None, "district": request.args.get("district") or None,
            "active": {"1": True, "0": False}.get(request.args.get("active", ""))}
    rows, next_cursor = people.list_volunteers(limit=PAGE_SIZE, cursor=request.args.get("cursor") or None, **args)
    return render_template("console/volunteers.html", nav="volunteers", rows=rows, next_cursor=next_cursor,
                           districts=list_districts(), errors={}, form={}, query=request.args, can_reset_password=True)


@blp.post("/volunteers")
@page_roles("admin")
def create_volunteer():
    """Register one volunteer; the generated password is shown once, on a printable slip."""
    data, errors = _load(VolunteerCreateSchema(exclude=("password",)), _form_text("full_name", "phone", "email", "district"))
    if data is not None:
        try:
            user, password = people.create_volunteer(**data, password=None)
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return render_template("console/slips.html", nav="volunteers", created=[(user, password)])
    return render_template("console/volunteers.html", nav="volunteers", rows=[], next_cursor=None,
                           districts=list_districts(), errors=errors, form=request.form, query={}), 422


@blp.post("/volunteers/<id:volunteer_id>/active")
@page_roles("admin")
def set_volunteer_active(volunteer_id):
    """Deactivate (every session ends at once) or reactivate a volunteer."""
    people.update_volunteer(volunteer_id, active=request.form.get("active") == "1")
    return redirect(request.form.get("back") or url_for("console.admin.volunteers"), 303)


@blp.post("/volunteers/<id:volunteer_id>/password")
@page_roles("admin")
def reset_volunteer_password(volunteer_id):
    """Give a volunteer a new one-time password, shown once on a printable slip; their sessions end."""
    return _password_slip(volunteer_id, role="volunteer")


def _password_slip(user_id, *, role: str):
    password = people.reset_password(user_id, role=role)
    user = people.get_user(user_id, role=role)
    return render_template("console/slips.html", nav=f"{role}s", created=[(user, password)], reset=True)


@blp.route("/volunteers/import", methods=["GET", "POST"])
@page_roles("admin")
def import_volunteers():
    """Import volunteers from a CSV: first a preview of every row and its errors, then the real import."""
    if request.method == "GET":
        return render_template("console/import_volunteers.html", nav="volunteers", preview=None)
    content = _uploaded_csv() if "file" in request.files else request.form.get("content", "").encode("utf-8")
    if not content:
        return render_template("console/import_volunteers.html", nav="volunteers", preview=None,
                               error=_l("Choose a CSV file.")), 422
    if request.form.get("confirm") == "1":
        try:
            created = people.import_volunteers(content=content)
        except Invalid as exc:
            return _import_preview(content, exc), 422
        return render_template("console/slips.html", nav="volunteers", created=created)
    try:
        people.check_volunteer_import(content=content)
    except Invalid as exc:
        return _import_preview(content, exc), 422
    return _import_preview(content, None)


def _import_preview(content: bytes, failure: Invalid | None):
    """Every row of the file beside its errors (the dry run's answer); nothing has been created."""
    errors = (failure.errors or {}) if failure else {}
    try:
        rows = read_csv_rows(content, columns=people.IMPORT_COLUMNS, max_rows=people.MAX_IMPORT_ROWS)
    except Invalid as exc:  # the file itself is unreadable: no rows to show
        rows, errors = [], {"file": flatten_errors(exc.errors or {}).get("file", [str(exc.detail)])}
    preview = [{"line": line, "row": row, "errors": flatten_errors(errors.get(f"row {line}", {}))} for line, row in rows]
    return render_template("console/import_volunteers.html", nav="volunteers", preview=preview,
                           failure=failure, file_errors=errors.get("file"), content=content.decode("utf-8-sig", "replace"),
                           columns=people.IMPORT_COLUMNS)


# Inspectors ------------------------------------------------------------------------------------------

@blp.get("/inspectors")
@page_roles("admin")
def inspectors():
    """Inspectors with their districts; register one; change their districts."""
    rows, next_cursor = people.list_inspectors(limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template("console/inspectors.html", nav="inspectors", rows=rows, next_cursor=next_cursor,
                           districts=list_districts(), errors={}, form={}, chosen_districts=[])


@blp.post("/inspectors")
@page_roles("admin")
def create_inspector():
    """Register an inspector for one or more districts."""
    form = {**_form_text("full_name", "phone", "email", "password", "language"),
            "districts": request.form.getlist("districts")}
    data, errors = _load(InspectorCreateSchema(), form)
    if data is not None:
        try:
            people.create_inspector(**data)
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return redirect(url_for("console.admin.inspectors", created=1), 303)
    rows, next_cursor = people.list_inspectors(limit=PAGE_SIZE, cursor=None)
    return render_template("console/inspectors.html", nav="inspectors", rows=rows, next_cursor=next_cursor,
                           districts=list_districts(), errors=errors, form=request.form,
                           chosen_districts=form["districts"]), 422


@blp.post("/inspectors/<id:inspector_id>")
@page_roles("admin")
def update_inspector(inspector_id):
    """Change an inspector's districts, or deactivate / reactivate them."""
    if "active" in request.form:
        people.update_inspector(inspector_id, active=request.form["active"] == "1")
    else:
        districts = request.form.getlist("districts")
        if not districts:
            raise Invalid(_l("Choose at least one district."))
        people.update_inspector(inspector_id, districts=districts)
    return redirect(url_for("console.admin.inspectors"), 303)


@blp.post("/inspectors/<id:inspector_id>/password")
@page_roles("admin")
def reset_inspector_password(inspector_id):
    """Give an inspector a new one-time password, shown once on a printable slip; their sessions end."""
    return _password_slip(inspector_id, role="inspector")


# Sites -----------------------------------------------------------------------------------------------

SITE_FIELDS = ("name", "kind", "district", "address", "geofence_radius_m", "budget_kzt", "contractor",
               "contract_number", "planned_completion", "status")


def _site_form() -> dict:
    """The site form as the API's schema reads it: the location nested, the radius a number."""
    data = _form_text(*SITE_FIELDS)
    if "geofence_radius_m" in data:
        data["geofence_radius_m"] = int(data["geofence_radius_m"]) if data["geofence_radius_m"].isdigit() \
            else data["geofence_radius_m"]
    lat, lon = request.form.get("lat", "").strip(), request.form.get("lon", "").strip()
    if lat or lon:
        data["location"] = {"lat": lat or None, "lon": lon or None}
    return data


def _sites_page(*, errors=None, form=None, status=200):
    district = request.args.get("district") or None
    rows, next_cursor = sites.list_sites(district=district, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template("console/sites.html", nav="sites", rows=rows, next_cursor=next_cursor,
                           districts=list_districts(), errors=errors or {}, form=form or {}, district=district,
                           map_data={**map_background(), "sites": [{"lat": s.lat, "lon": s.lon, "name": s.name}
                                                                   for s in rows],
                                     "pick": {"lat": "site-lat", "lon": "site-lon"}}), status


@blp.get("/sites")
@page_roles("admin")
def sites_register():
    """The sites register: the list, the map, a new site (location picked on the map or typed), CSV import."""
    return _sites_page()


@blp.post("/sites")
@page_roles("admin")
def create_site():
    """Register a site."""
    data, errors = _load(SiteCreateSchema(), _site_form())
    if data is not None:
        try:
            site = sites.create_site(**data)
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return redirect(url_for("console.admin.site", site_id=site.id, saved=1), 303)
    return _sites_page(errors=errors, form=request.form, status=422)


@blp.get("/sites/<id:site_id>")
@page_roles("admin")
def site(site_id):
    """A site: edit it, and its inspections and savings reports."""
    return _site_page(site_id)


def _site_page(site_id, *, errors=None, status=200):
    item = sites.get_site(site_id)
    site_inspections, _ = inspections.list_inspections(user=g.current_user, site_id=str(item.id), limit=PAGE_SIZE,
                                                       cursor=None)
    site_savings, _ = savings.list_savings(user=g.current_user, site_id=str(item.id), limit=PAGE_SIZE, cursor=None)
    return render_template("console/site.html", nav="sites", site=item, inspections=site_inspections,
                           savings=site_savings, districts=list_districts(), errors=errors or {},
                           map_data={**map_background(), "site": {"lat": item.lat, "lon": item.lon,
                                     "radius": item.geofence_radius_m, "name": item.name},
                                     "pick": {"lat": "site-lat", "lon": "site-lon"}}), status


@blp.post("/sites/<id:site_id>")
@page_roles("admin")
def update_site(site_id):
    """Change a site."""
    data, errors = _load(SiteUpdateSchema(), _site_form())
    if data is not None:
        try:
            sites.update_site(site_id, **data)
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors = _refusal(exc)
        else:
            return redirect(url_for("console.admin.site", site_id=site_id, saved=1), 303)
    return _site_page(site_id, errors=errors, status=422)


@blp.post("/sites/import")
@page_roles("admin")
def import_sites():
    """Import sites from a CSV, all or nothing (a dry run first when asked)."""
    content = _uploaded_csv()
    if not content:
        return _sites_page(errors={"file": [str(_l("Choose a CSV file."))]}, status=422)
    dry_run = request.form.get("dry_run") == "1"
    try:
        created, valid = sites.import_sites(content=content, dry_run=dry_run)
    except Invalid as exc:
        return _sites_page(errors=_refusal(exc), status=422)
    message = _l("All %(n)s rows are valid; nothing was created yet.", n=valid) if dry_run \
        else _l("%(n)s sites were registered.", n=len(created))
    return render_template("console/done.html", nav="sites", message=message,
                           back=url_for("console.admin.sites_register"))


# Totals ----------------------------------------------------------------------------------------------

@blp.get("/totals")
@page_roles("admin", "inspector")
def totals():
    """The totals by district and by month as charts, the next 50-million milestone, the exports."""
    answer = savings.read_totals(user=g.current_user, by=["month"])
    approved = answer["approved_tiyn"]
    next_milestone = (approved // MILESTONE_STEP_TIYN + 1) * MILESTONE_STEP_TIYN
    names = {d.code: d.name_in(str(get_locale())) for d in list_districts()}
    chart = {
        "districts": {"labels": [names.get(r["district"], r["district"]) for r in answer["by_district"]],
                      "approved": [r["approved_tiyn"] / 100 for r in answer["by_district"]],
                      "pending": [r["pending_tiyn"] / 100 for r in answer["by_district"]]},
        "months": {"labels": [r["month"] for r in answer["by_month"]],
                   "approved": [r["approved_tiyn"] / 100 for r in answer["by_month"]],
                   "pending": [r["pending_tiyn"] / 100 for r in answer["by_month"]]},
        "series": {"approved": str(_l("Approved")), "pending": str(_l("Pending"))},
    }
    return render_template("console/totals.html", nav="totals", totals=answer, names=names, chart=chart,
                           next_milestone=next_milestone, milestone_step=MILESTONE_STEP_TIYN,
                           progress=approved - (next_milestone - MILESTONE_STEP_TIYN))


def _export_args() -> dict:
    """The period of an export (approval dates, inclusive); a bad date is the page's 422."""
    args = {}
    for name, key in (("from", "date_from"), ("to", "date_to")):
        if request.args.get(name):
            try:
                args[key] = date.fromisoformat(request.args[name])
            except ValueError as exc:
                raise Invalid(_l("A date looks like 2026-05-14.")) from exc
    exports.check_period(args.get("date_from"), args.get("date_to"))
    return args


@blp.get("/totals/export.csv")
@page_roles("admin", "inspector")
def export_csv():
    """Download the approved savings as CSV (the API's export, for the console's session)."""
    chunks = exports.stream_csv(user=g.current_user, **_export_args())
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="approved-savings.csv"'
    return response


@blp.get("/totals/export.xlsx")
@page_roles("admin", "inspector")
def export_xlsx():
    """Download the approved savings as an Excel workbook."""
    return send_file(exports.write_xlsx(user=g.current_user, **_export_args()), mimetype=XLSX, as_attachment=True,
                     download_name="approved-savings.xlsx")


# Audit and jobs --------------------------------------------------------------------------------------

@blp.get("/audit")
@page_roles("admin")
def audit_trail():
    """The audit trail, newest first, filtered by action, object and actor."""
    filters = {name: request.args.get(name) or None for name in ("action", "object_type", "object_id", "actor_id")}
    if filters["actor_id"] and not filters["actor_id"].isdigit():
        raise Invalid(_l("The actor is a number (an account id)."))
    rows, next_cursor = audit.list_events(limit=PAGE_SIZE, cursor=request.args.get("cursor") or None, **filters)
    return render_template("console/audit.html", nav="audit", rows=rows, next_cursor=next_cursor, filters=filters,
                           args={k: v for k, v in filters.items() if v})


@blp.post("/audit/verify")
@page_roles("admin")
def verify_audit():
    """Check the hash chain (the stored verification and the tail since); the answer replaces the button's result box."""
    result = audit_verifications.verify_audit_chain()
    return render_template("console/audit_verify.html", result=result)


@blp.get("/jobs")
@page_roles("admin")
def dead_jobs():
    """The jobs that failed every attempt, newest first, with a retry button."""
    rows, next_cursor = list_jobs(status="dead", limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template("console/jobs.html", nav="jobs", rows=rows, next_cursor=next_cursor)


@blp.post("/jobs/<id:job_id>/retry")
@page_roles("admin")
def retry_job(job_id):
    """Give a dead job a fresh set of attempts."""
    retry_dead_job(job_id=job_id)
    return redirect(url_for("console.admin.dead_jobs", retried=job_id), 303)
