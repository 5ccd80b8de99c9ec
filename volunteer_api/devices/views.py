"""Devices for push, the apps' client settings, and the gate that turns away apps that are too old."""
from flask import Flask, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from ..auth.access import current_user, public, roles
from ..errors import problem
from ..security import Blueprint
from . import services
from .schemas import ClientConfigSchema, DeviceRegistrationSchema, DeviceSchema

blp = Blueprint("devices", __name__, url_prefix="/api/v1", description="Phones: client settings and push devices")

EVERYONE = ("admin", "inspector", "volunteer")
# Answered to every app whatever its version: it is how an old app learns that it must be updated.
UNGATED_ENDPOINTS = frozenset({"devices.ClientConfig"})


@blp.route("/client-config")
class ClientConfig(MethodView):
    @public
    @blp.response(200, ClientConfigSchema)
    @blp.doc(operationId="getClientConfig")
    def get(self):
        """Read the apps' settings: the minimum version of each platform and the Web Push public key.

        An app sends `X-Client-Platform` (web, android, ios) and `X-Client-Version` with every call; a
        version below its platform's `min_version` is answered 426 (Upgrade Required) everywhere but here.
        """
        return services.client_config()


@blp.route("/devices")
class Devices(MethodView):
    @roles(*EVERYONE)
    @blp.arguments(DeviceRegistrationSchema)
    @blp.response(201, DeviceSchema)
    @blp.doc(operationId="registerDevice")
    def post(self, data):
        """Register this phone or browser for alerts by push (Web Push subscription or FCM token).

        Registering the same subscription again answers the same device; a subscription registered
        by another account moves to the caller (a shared phone reaches whoever signed in last).
        """
        return services.register_device(user=current_user(), **data)


@blp.route("/devices/<id:device_id>")
class DeviceById(MethodView):
    @roles(*EVERYONE)
    @blp.response(204)
    @blp.alt_response(404, description="No such device of yours")
    @blp.doc(operationId="removeDevice")
    def delete(self, device_id):
        """Unregister one of my devices: it receives no more pushes."""
        services.remove_device(user=current_user(), device_id=device_id)


def register_version_gate(app: Flask) -> None:
    """Answer 426 to an app older than its platform's minimum, before any API view runs."""

    @app.before_request
    def refuse_outdated_clients():
        if not request.path.startswith("/api/v1/") or request.endpoint in UNGATED_ENDPOINTS:
            return None
        try:
            services.check_client_version(request.headers.get("X-Client-Platform"),
                                          request.headers.get("X-Client-Version"))
        except services.ClientTooOld as too_old:
            return problem(426, _l("This version of the app is too old: update it to continue."),
                           extra={"platform": too_old.platform, "min_version": services.min_versions()})
        return None
