from flask import current_app
from flask.views import MethodView

from ..auth.access import current_user, roles
from ..pagination import page_schema
from ..schemas import ImportArgsSchema, ImportFileSchema
from ..security import Blueprint
from ..uploads import uploaded_file_bytes
from . import services
from .schemas import (
    CreatedVolunteerSchema,
    InitialPasswordSchema,
    InspectorCreateSchema,
    InspectorListArgsSchema,
    InspectorSchema,
    InspectorUpdateSchema,
    VolunteerCreateSchema,
    VolunteerImportPreviewSchema,
    VolunteerImportResultSchema,
    VolunteerListArgsSchema,
    VolunteerSchema,
    VolunteerUpdateSchema,
)

blp = Blueprint("people", __name__, url_prefix="/api/v1",
                description="Volunteers and inspectors (admins; inspectors read the volunteers of their districts)")


class WithInitialPassword:
    """A new account as answered once: the account's fields plus the password the server generated."""

    def __init__(self, account, initial_password: str | None):
        self._account = account
        if initial_password:
            self.initial_password = initial_password

    def __getattr__(self, name):
        return getattr(self._account, name)


@blp.route("/volunteers")
class Volunteers(MethodView):
    @roles("admin", "inspector")
    @blp.arguments(VolunteerListArgsSchema, location="query")
    @blp.response(200, page_schema(VolunteerSchema))
    @blp.doc(operationId="listVolunteers")
    def get(self, args):
        """List volunteers, newest first (an inspector: those of their districts)."""
        items, next_cursor = services.list_volunteers(reader=current_user(), **args)
        return {"items": items, "next_cursor": next_cursor}

    @roles("admin")
    @blp.arguments(VolunteerCreateSchema)
    @blp.response(201, CreatedVolunteerSchema)
    @blp.alt_response(409, description="The phone or e-mail belongs to another account")
    @blp.doc(operationId="registerVolunteer")
    def post(self, data):
        """Register a volunteer (a password is generated when none is given)."""
        user, initial_password = services.create_volunteer(**data)
        return WithInitialPassword(user, initial_password)


@blp.route("/volunteers/import")
class VolunteerImport(MethodView):
    @roles("admin")
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, VolunteerImportResultSchema)
    @blp.alt_response(200, schema=VolunteerImportPreviewSchema,
                      description="`dry_run=true`: every row as it would be created, with its errors; nothing is written")
    @blp.doc(operationId="importVolunteers")
    def post(self, args, _files):
        """Register every volunteer of a CSV (full_name,phone,email,district; commas or semicolons), all or nothing.

        With `dry_run=true`, answer 200 with a preview of each row instead (no account, no password).
        """
        if args["dry_run"]:
            preview = services.preview_volunteer_import(content=uploaded_file_bytes())
            return current_app.json.response(VolunteerImportPreviewSchema().dump(preview))
        created = services.import_volunteers(content=uploaded_file_bytes())
        volunteers = [WithInitialPassword(user, password) for user, password in created]
        return {"created": len(created), "dry_run": False, "volunteers": volunteers}


@blp.route("/volunteers/<id:volunteer_id>")
class VolunteerById(MethodView):
    @roles("admin", "inspector")
    @blp.response(200, VolunteerSchema)
    @blp.doc(operationId="getVolunteer")
    def get(self, volunteer_id):
        """Read a volunteer (an inspector: one of their districts)."""
        return services.get_volunteer(volunteer_id, reader=current_user())

    @roles("admin")
    @blp.arguments(VolunteerUpdateSchema)
    @blp.response(200, VolunteerSchema)
    @blp.alt_response(409, description="The e-mail belongs to another account")
    @blp.doc(operationId="updateVolunteer")
    def patch(self, changes, volunteer_id):
        """Change a volunteer's name, e-mail, district, or deactivate them (their tokens stop at once)."""
        return services.update_volunteer(volunteer_id, **changes)


@blp.route("/volunteers/<id:volunteer_id>/reset-password")
class VolunteerPasswordReset(MethodView):
    @roles("admin")
    @blp.response(200, InitialPasswordSchema)
    @blp.doc(operationId="resetVolunteerPassword")
    def post(self, volunteer_id):
        """Reset a volunteer's password: a new one is generated and shown once; every session of theirs ends."""
        return {"initial_password": services.reset_password(volunteer_id, role="volunteer")}


@blp.route("/inspectors")
class Inspectors(MethodView):
    @roles("admin")
    @blp.arguments(InspectorListArgsSchema, location="query")
    @blp.response(200, page_schema(InspectorSchema))
    @blp.doc(operationId="listInspectors")
    def get(self, args):
        """List inspectors, newest first."""
        items, next_cursor = services.list_inspectors(**args)
        return {"items": items, "next_cursor": next_cursor}

    @roles("admin")
    @blp.arguments(InspectorCreateSchema)
    @blp.response(201, InspectorSchema)
    @blp.alt_response(409, description="The phone or e-mail belongs to another account")
    @blp.doc(operationId="registerInspector")
    def post(self, data):
        """Register an inspector for one or more districts."""
        return services.create_inspector(**data)


@blp.route("/inspectors/<id:inspector_id>")
class InspectorById(MethodView):
    @roles("admin")
    @blp.response(200, InspectorSchema)
    @blp.doc(operationId="getInspector")
    def get(self, inspector_id):
        """Read an inspector."""
        return services.get_user(inspector_id, role="inspector")

    @roles("admin")
    @blp.arguments(InspectorUpdateSchema)
    @blp.response(200, InspectorSchema)
    @blp.alt_response(409, description="The e-mail belongs to another account")
    @blp.doc(operationId="updateInspector")
    def patch(self, changes, inspector_id):
        """Change an inspector's name, e-mail, language or districts, or deactivate them."""
        return services.update_inspector(inspector_id, **changes)


@blp.route("/inspectors/<id:inspector_id>/reset-password")
class InspectorPasswordReset(MethodView):
    @roles("admin")
    @blp.response(200, InitialPasswordSchema)
    @blp.doc(operationId="resetInspectorPassword")
    def post(self, inspector_id):
        """Reset an inspector's password: a new one is generated and shown once; every session of theirs ends."""
        return {"initial_password": services.reset_password(inspector_id, role="inspector")}
