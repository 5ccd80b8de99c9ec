from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import current_user, roles
from ..pagination import page_schema
from ..uploads import uploaded_file
from . import services
from .schemas import (
    InspectionCreateSchema,
    InspectionListArgsSchema,
    InspectionReviewSchema,
    InspectionSchema,
    PhotoFileSchema,
    PhotoSchema,
)

blp = Blueprint("inspections", __name__, url_prefix="/api/v1", description="Inspections")

EVERYONE = ("admin", "inspector", "volunteer")


@blp.route("/inspections")
class Inspections(MethodView):
    @roles(*EVERYONE)
    @blp.arguments(InspectionListArgsSchema, location="query")
    @blp.response(200, page_schema(InspectionSchema))
    @blp.doc(operationId="listInspections")
    def get(self, args):
        """List inspections, newest first: a volunteer's own, an inspector's districts', or all for admins."""
        items, next_cursor = services.list_inspections(user=current_user(), **args)
        return {"items": items, "next_cursor": next_cursor}

    @roles("volunteer")
    @blp.arguments(InspectionCreateSchema)
    @blp.response(201, InspectionSchema, description="Filed")
    @blp.alt_response(200, schema=InspectionSchema, description="A retry with the same client_uuid and body: the inspection filed first")
    @blp.alt_response(409, description="The client_uuid was used with another body")
    @blp.doc(operationId="fileInspection")
    def post(self, data):
        """File a geotagged inspection (idempotent on client_uuid)."""
        inspection, created = services.file_inspection(volunteer_id=current_user().id, **data)
        return inspection, 201 if created else 200


@blp.route("/inspections/<id:inspection_id>")
class InspectionById(MethodView):
    @roles(*EVERYONE)
    @blp.response(200, InspectionSchema)
    @blp.doc(operationId="getInspection")
    def get(self, inspection_id):
        """Read an inspection."""
        return services.get_inspection(inspection_id, user=current_user())


@blp.route("/inspections/<id:inspection_id>/review")
class InspectionReview(MethodView):
    @roles("inspector", "admin")
    @blp.arguments(InspectionReviewSchema)
    @blp.response(200, InspectionSchema)
    @blp.alt_response(409, description="Already reviewed")
    @blp.doc(operationId="reviewInspection")
    def post(self, data, inspection_id):
        """Confirm or dismiss an inspection (inspector of its district, or admin); once."""
        return services.review_inspection(inspection_id, reviewer=current_user(), **data)


@blp.route("/inspections/<id:inspection_id>/photos")
class InspectionPhotos(MethodView):
    @roles("volunteer")
    @blp.arguments(PhotoFileSchema, location="files")
    @blp.response(201, PhotoSchema, description="Stored")
    @blp.alt_response(200, schema=PhotoSchema, description="The same photo was already attached to this inspection")
    @blp.alt_response(409, description="The inspection was already reviewed")
    @blp.alt_response(413, description="Over 10 MB, or too many pixels")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP image")
    @blp.doc(operationId="attachPhoto")
    def post(self, _files, inspection_id):
        """Attach a photo to your inspection before it is reviewed (JPEG, PNG or WebP, at most 10 MB)."""
        photo, created = services.add_photo(inspection_id, user=current_user(), stream=uploaded_file().stream,
                                            max_bytes=current_app.config["MAX_PHOTO_BYTES"])
        return photo, 201 if created else 200
