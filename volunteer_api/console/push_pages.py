"""Alerts on this computer: the console's Web Push subscription, for inspectors and administrators.

The API's `/api/v1/devices` takes a bearer token, which the console never holds (its session is a cookie).
These routes register the browser's subscription for the signed-in person with the same service the API
calls (devices.services), under the console's cookie session and CSRF protection (the token travels in the
X-CSRFToken header, as htmx sends it). The console's own service worker shows what arrives.
"""
from flask import Blueprint, Response, g, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError

from ..auth.access import public
from ..devices import services as device_services
from ..devices.schemas import DeviceSchema, WebPushSubscriptionSchema
from ..errors import DomainError, Invalid, flatten_errors, problem
from ..security import parse_json_body
from ..web import STATIC_DIR
from .session import page_roles

blp = Blueprint("push", __name__, url_prefix="/push")
STAFF = ("inspector", "admin")
SERVICE_WORKER = STATIC_DIR / "console" / "push-sw.js"


@blp.errorhandler(DomainError)
def _domain_problem(error: DomainError):
    # The page's script reads these answers: problems as JSON, like the API's, not an HTML page.
    return problem(error.status, error.detail, errors=error.errors, problem_type=error.problem_type)


@blp.errorhandler(CSRFError)
def _csrf_problem(_error):
    return problem(400, _l("The page had expired. Go back, reload it and try again."))


@blp.get("/")
@page_roles(*STAFF)
def push_page():
    """The switch for alerts on this computer."""
    return render_template("console/push.html", nav="inbox")


@blp.post("/devices")
@page_roles(*STAFF)
def register_browser():
    """Register this browser's Web Push subscription (PushSubscription.toJSON()) for the signed-in person."""
    body = parse_json_body()
    try:
        if not isinstance(body, dict):
            raise ValidationError({"_schema": [str(_l("Expected a push subscription (a JSON object)."))]})
        subscription = WebPushSubscriptionSchema().load(body)
    except ValidationError as error:
        return problem(422, errors=flatten_errors(error.messages))
    try:
        device = device_services.register_device(user=g.current_user, platform="web", push=subscription)
    except Invalid as refused:  # the service names the API's body ("push.endpoint"); here the body is the push
        return problem(422, errors={name.removeprefix("push."): messages for name, messages in (refused.errors or {}).items()})
    return jsonify(DeviceSchema().dump(device)), 201


@blp.post("/devices/<id:device_id>/remove")
@page_roles(*STAFF)
def remove_browser(device_id):
    """Stop alerts to one of the signed-in person's browsers."""
    device_services.remove_device(user=g.current_user, device_id=device_id)
    return Response(status=204)


@blp.get("/sw.js")
@public  # code only; the browser re-fetches it to update, signed in or not
def service_worker():
    """The console's service worker: it shows the alerts pushed to this browser (nothing is cached)."""
    response = Response(SERVICE_WORKER.read_bytes(), mimetype="text/javascript")
    # Served under /console/push/ but in charge of the whole console, where a click on an alert opens.
    response.headers["Service-Worker-Allowed"] = "/console/"
    return response
