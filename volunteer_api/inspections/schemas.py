"""The inspections endpoints' HTTP contract."""
from marshmallow import Schema, fields, post_dump, validate

from ..cases.schemas import CaseSchema
from ..geo import DeviceLocationSchema
from ..ids import Id
from ..pagination import PageArgsSchema
from ..people.schemas import VolunteerSummarySchema
from ..sites.schemas import SiteSummarySchema
from ..schemas import CompiledDumpSchema, JsonBoolean
from ..timestamps import RFC3339DateTime
from .models import INSPECTION_STATUSES, REVIEW_DECISIONS, SEVERITIES
from .photos import PREVIEW_SIZES


class ChecklistSchema(Schema):
    work_in_progress = JsonBoolean(required=True)
    workers_present = JsonBoolean(required=True)
    safety_violations = JsonBoolean(required=True)
    quality_issues = JsonBoolean(required=True)
    schedule_delay = JsonBoolean(required=True)
    docs_on_site = JsonBoolean(required=True)
    progress_percent = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))


class InspectionCreateSchema(Schema):
    client_uuid = fields.UUID(required=True, metadata={"description": "Made on the phone; a retry sends the same one"})
    site_id = Id(required=True)
    captured_at = RFC3339DateTime(required=True)
    location = fields.Nested(DeviceLocationSchema, required=True)
    checklist = fields.Nested(ChecklistSchema, required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class InspectionLocationSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    accuracy_m = fields.Float(required=True)
    mock = fields.Boolean(required=True)


class ExifLocationSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    distance_m = fields.Float(required=True, metadata={"description": "Geodesic distance from the photo's position to the site"})


class PhotoSchema(CompiledDumpSchema):
    id = fields.String(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    exif_location = fields.Nested(ExifLocationSchema, metadata={"description": "Only when the photo carries an EXIF GPS position"})
    exif_taken_at = RFC3339DateTime(required=True, allow_none=True, metadata={"description": (
        "When the camera says the photo was taken (EXIF DateTimeOriginal with its offset; without an "
        "offset read as Asia/Almaty time, UTC+5), null when it does not say")})
    photo_time_mismatch = fields.Boolean(required=True, metadata={"description": (
        "The camera's time is more than a day from the inspection's captured_at: a data-quality "
        "hint for the reviewer (an old photo, or a camera clock set wrong)")})
    created_at = RFC3339DateTime(required=True)

    @post_dump
    def omit_missing_exif(self, data, **kwargs):
        if data.get("exif_location") is None:
            data.pop("exif_location", None)
        return data


class PhotoListSchema(Schema):
    items = fields.List(fields.Nested(PhotoSchema), required=True)


class PreviewArgsSchema(Schema):
    size = fields.Integer(load_default=PREVIEW_SIZES[0], validate=validate.OneOf(PREVIEW_SIZES),
                          metadata={"description": "The longer side in pixels"})


class PhotoFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "JPEG, PNG or WebP, at most 10 MB"})


# Dumped by a compiled plan (CompiledDumpSchema): pages of 50 inspections are the hottest read.
class InspectionSchema(CompiledDumpSchema):
    id = fields.String(required=True)
    client_uuid = fields.String(required=True)
    site_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    volunteer = fields.Nested(VolunteerSummarySchema, required=True)
    site = fields.Nested(SiteSummarySchema, required=True)
    district = fields.String(required=True)
    captured_at = RFC3339DateTime(required=True)
    received_at = RFC3339DateTime(required=True)
    location = fields.Nested(InspectionLocationSchema, required=True)
    checklist = fields.Dict(required=True)
    severity = fields.String(required=True)
    notes = fields.String(allow_none=True, required=True)
    distance_m = fields.Float(required=True)
    on_site = fields.Boolean(required=True)
    flagged = fields.Boolean(required=True)
    flag_reasons = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"enum": list(INSPECTION_STATUSES)})
    reviewed_by_id = fields.String(allow_none=True, required=True,
                                   metadata={"description": "The latest review's (a return stays here after a resubmission)"})
    reviewed_at = RFC3339DateTime(allow_none=True, required=True)
    review_comment = fields.String(allow_none=True, required=True)
    resubmissions = fields.Integer(required=True, metadata={"description": "How often it was resubmitted after a return"})
    photos = fields.List(fields.Nested(PhotoSchema), required=True)
    case = fields.Nested(CaseSchema, allow_none=True, required=True,
                         metadata={"description": "A confirmed inspection is a case: its referral and resolution "
                                                  "(each null until recorded). Null before confirmation."})
    updated_at = RFC3339DateTime(required=True)


class InspectionListArgsSchema(PageArgsSchema):
    site_id = Id()
    volunteer_id = Id()
    district = fields.String(validate=validate.Length(min=1, max=32))
    flagged = fields.Boolean()
    status = fields.String(validate=validate.OneOf(INSPECTION_STATUSES))


class InspectionReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(REVIEW_DECISIONS), metadata={"description": (
        "confirmed or dismissed decide the inspection; returned sends it back to its volunteer to complete "
        "(the comment says what is missing)")})
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class InspectionResubmitSchema(Schema):
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000),
                          metadata={"description": "What was added or answered; shown in the history"})
