from flask import current_app
from flask.views import MethodView

from ..audit.schemas import HistorySchema
from ..auth.access import current_user, roles
from ..downloads import stored_object_response
from ..pagination import page_schema
from ..security import Blueprint
from ..uploads import uploaded_file
from . import services
from .models import Photo
from .photos import FORMATS
from .schemas import (
    InspectionCreateSchema,
    InspectionListArgsSchema,
    InspectionResubmitSchema,
    InspectionReviewSchema,
    InspectionSchema,
    PhotoFileSchema,
    PhotoListSchema,
    PhotoSchema,
    PreviewArgsSchema,
)

blp = Blueprint("inspections", __name__, url_prefix="/api/v1", description="Inspections")

EVERYONE = ("admin", "inspector", "volunteer")
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_NOT_MODIFIED = {"description": "Not modified: the If-None-Match ETag is current"}
_STORE_UNAVAILABLE = "The photo store (S3) does not answer; retry after Retry-After"
ORIGINAL_RESPONSES = {"200": {"description": "The original bytes exactly as uploaded; ETag is their SHA-256",
                              "content": {media_type: _BINARY for media_type in FORMATS.values()}},
                      "304": _NOT_MODIFIED, "503": {"description": _STORE_UNAVAILABLE}}
PREVIEW_RESPONSES = {"200": {"description": "A JPEG preview: upright, at most `size` px, without any metadata",
                             "content": {"image/jpeg": _BINARY}},
                     "304": _NOT_MODIFIED, "503": {"description": _STORE_UNAVAILABLE}}


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
        """Confirm, dismiss or return an inspection (inspector of its district, or admin).

        `returned` sends it back to its volunteer, with the comment saying what is missing; it can be
        reviewed again once they resubmit it (until then a review is a 409).
        """
        return services.review_inspection(inspection_id, reviewer=current_user(), **data)


@blp.route("/inspections/<id:inspection_id>/resubmit")
class InspectionResubmit(MethodView):
    @roles("volunteer")
    @blp.arguments(InspectionResubmitSchema)
    @blp.response(200, InspectionSchema)
    @blp.alt_response(409, description="The inspection is not returned (already resubmitted, or never returned)")
    @blp.doc(operationId="resubmitInspection")
    def post(self, data, inspection_id):
        """Resubmit your returned inspection for review, once per return; its inspectors are alerted again."""
        return services.resubmit_inspection(inspection_id, user=current_user(), **data)


@blp.route("/inspections/<id:inspection_id>/history")
class InspectionHistory(MethodView):
    @roles(*EVERYONE)
    @blp.response(200, HistorySchema)
    @blp.doc(operationId="listInspectionHistory")
    def get(self, inspection_id):
        """List every state change of an inspection, oldest first: filed, returned, resubmitted, decided."""
        return {"items": services.inspection_history(inspection_id, user=current_user())}


@blp.route("/inspections/<id:inspection_id>/photos")
class InspectionPhotos(MethodView):
    @roles(*EVERYONE)
    @blp.response(200, PhotoListSchema)
    @blp.doc(operationId="listInspectionPhotos")
    def get(self, inspection_id):
        """List the photos of an inspection, in upload order."""
        return {"items": services.list_photos(inspection_id, user=current_user())}

    @roles("volunteer")
    @blp.arguments(PhotoFileSchema, location="files")
    @blp.response(201, PhotoSchema, description="Stored")
    @blp.alt_response(200, schema=PhotoSchema, description="The same photo was already attached to this inspection")
    @blp.alt_response(409, description="The inspection was already decided")
    @blp.alt_response(413, description="Over 10 MB, or too many pixels")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP image")
    @blp.alt_response(503, description=_STORE_UNAVAILABLE)
    @blp.doc(operationId="attachPhoto")
    def post(self, _files, inspection_id):
        """Attach a photo to your inspection before it is decided (JPEG, PNG or WebP, at most 10 MB)."""
        photo, created = services.add_photo(inspection_id, user=current_user(), stream=uploaded_file().stream,
                                            max_bytes=current_app.config["MAX_PHOTO_BYTES"])
        return photo, 201 if created else 200


@blp.route("/inspections/<id:inspection_id>/photos/<id:photo_id>")
class InspectionPhoto(MethodView):
    @roles(*EVERYONE)
    @blp.doc(operationId="getInspectionPhoto", responses=ORIGINAL_RESPONSES)
    def get(self, inspection_id, photo_id):
        """Download a photo's original bytes, exactly as uploaded (ETag: its SHA-256)."""
        photo: Photo = services.get_photo(inspection_id, photo_id, user=current_user())
        return stored_object_response(lambda: services.open_photo(photo), mimetype=photo.content_type,
                                      etag=photo.sha256)


@blp.route("/inspections/<id:inspection_id>/photos/<id:photo_id>/preview")
class InspectionPhotoPreview(MethodView):
    @roles(*EVERYONE)
    @blp.arguments(PreviewArgsSchema, location="query")
    @blp.doc(operationId="getInspectionPhotoPreview", responses=PREVIEW_RESPONSES)
    def get(self, args, inspection_id, photo_id):
        """Download a JPEG preview of a photo (320 or 1280 px), upright and without metadata (no GPS)."""
        photo: Photo = services.get_photo(inspection_id, photo_id, user=current_user())
        size = args["size"]
        return stored_object_response(lambda: services.open_preview(photo, size), mimetype="image/jpeg",
                                      etag=f"{photo.sha256}-preview-{size}")
