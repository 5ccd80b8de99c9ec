"""The console's pages: thin views over the services the API calls (no business rule is written here)."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..auth import services as auth_services
from ..auth.access import public
from ..auth.schemas import PasswordChangeSchema
from ..auth.limits import limit_sign_ins
from ..errors import STATUS_DETAILS, DomainError, handle_unexpected
from ..extensions import csrf
from ..i18n import LANGUAGES
from ..security import accept_form_posts
from ..web import page_csp
from . import admin_pages, formatting, labels, push_pages, review_pages
from . import session as console_session
from .forms import load_form, refusal
from .session import page_roles

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
STAFF = ("inspector", "admin")
accept_form_posts(blp.name)
blp.register_blueprint(review_pages.blp)
blp.register_blueprint(admin_pages.blp)
blp.register_blueprint(push_pages.blp)


@blp.record_once
def _template_helpers(state):
    for module in (formatting, labels, review_pages):
        module.init_app(state.app)


@blp.before_request
def _before():
    g.page_language = console_session.chosen_language()
    if request.method == "POST":
        csrf.protect()  # every form and every htmx request carries the session's CSRF token


@blp.after_request
def _page_headers(response):
    tiles = current_app.config.get("MAP_TILES_URL")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(tiles)) if tiles else None
    response.headers["Content-Security-Policy"] = page_csp(img_hosts=(origin,) if origin else ())
    # Nothing the console answers is stored by the browser (pages and exports carry personal data; send_file's
    # own "no-cache" still lets it write them to disk), except what is deliberately cacheable in the browser
    # alone: the photos' "private, max-age" (content-addressed).
    if not response.cache_control.private:
        response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie"
    return response


@blp.context_processor
def _page_context():
    return {"current_language": str(get_locale()), "admin_nav": ADMIN_NAV if _is_admin() else ()}


def _is_admin() -> bool:
    return getattr(g.get("current_user"), "role", None) == "admin"


# The administrators' sections of the top navigation: (endpoint, nav key, text).
ADMIN_NAV = (
    ("console.admin.volunteers", "volunteers", _l("Volunteers")),
    ("console.admin.inspectors", "inspectors", _l("Inspectors")),
    ("console.admin.sites_register", "sites", _l("Sites")),
    ("console.admin.audit_trail", "audit", _l("Audit")),
    ("console.admin.dead_jobs", "jobs", _l("Failed jobs")),
)


def _error_page(status: int, message):
    return render_template("console/error.html", status=status, message=message), status


@blp.errorhandler(CSRFError)
def _csrf_failed(_error):
    return _error_page(400, _l("The page had expired. Go back, reload it and try again."))


@blp.errorhandler(DomainError)
def _domain_error(error):
    return _error_page(error.status, error.detail or "")


@blp.errorhandler(Exception)
def _unexpected(error):
    handle_unexpected(error)  # logs it with the traceback
    return _error_page(500, _l("Something went wrong on our side; it has been logged."))


@blp.errorhandler(HTTPException)
def _http_error(error):
    messages = {403: _l("This page is not for your role."), 404: _l("There is no such page, or it is not yours.")}
    return _error_page(error.code or 500, messages.get(error.code) or STATUS_DETAILS.get(error.code, error.description))


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.review.queue")


@blp.route("/sign-in", methods=["GET", "POST"])
@public
@limit_sign_ins(lambda: request.form.get("login"))
def sign_in_page():
    """Sign in with the same login and password as the API; the same limits and lockout apply."""
    error, status = None, 200
    if request.method == "POST":
        try:
            console_session.sign_in(login=request.form.get("login", ""), password=request.form.get("password", ""))
        except DomainError as exc:
            error, status = exc.detail, exc.status
        else:
            return redirect(_safe_next(request.args.get("next")), 303)
    idle = request.args.get("idle") == "1"
    return render_template("console/sign_in.html", error=error, idle=idle,
                           login=request.form.get("login", "")), status


@blp.post("/sign-out")
@page_roles(*STAFF)
def sign_out():
    """Sign out: the session ends at once, as the API's logout ends a token's."""
    console_session.sign_out()
    return redirect(url_for("console.sign_in_page"), 303)


@blp.route("/password", methods=["GET", "POST"])
@page_roles(*STAFF, before_password_change=True)
def change_password_page():
    """Set a password of one's own (the auth service's rules); forced after a reset or a generated one."""
    errors, status = {}, 200
    if request.method == "POST":
        form = {"current_password": request.form.get("current_password", ""),
                "new_password": request.form.get("new_password", "")}
        data, errors = load_form(PasswordChangeSchema(), form)
        if data is not None and form["new_password"] != request.form.get("repeat_password", ""):
            data, errors = None, {"repeat_password": [str(_l("The two new passwords differ."))]}
        if data is not None:
            try:
                auth_services.change_password(user=g.current_user, keep_session_id=g.auth_session.id, **data)
            except DomainError as exc:
                errors = refusal(exc)
            else:
                target = request.args.get("next")
                return redirect(_safe_next(target) if target else url_for("console.change_password_page", done=1), 303)
        status = 422
    return render_template("console/password.html", nav="password", errors=errors,
                           forced=g.password_change_required, done=request.args.get("done")), status


@blp.post("/language")
@public
def choose_language():
    """Remember the language picked on the switch."""
    language = request.form.get("language")
    if language in LANGUAGES:
        session["lang"] = language
    return redirect(_safe_next(request.form.get("next")), 303)


