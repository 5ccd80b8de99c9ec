"""The inspections endpoints' HTTP contract."""
from marshmallow import Schema, fields, post_dump, validate

from ..cases.schemas import CaseSchema
from ..geo import DeviceLocationSchema
from ..ids import Id
from ..pagination import PageArgsSchema
from ..schemas import JsonBoolean
from ..timestamps import RFC3339DateTime
from .models import INSPECTION_STATUSES, SEVERITIES


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


class PhotoSchema(Schema):
    id = fields.String(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    exif_location = fields.Nested(ExifLocationSchema, metadata={"description": "Only when the photo carries an EXIF GPS position"})
    created_at = RFC3339DateTime(required=True)

    @post_dump
    def omit_missing_exif(self, data, **kwargs):
        if data.get("exif_location") is None:
            data.pop("exif_location", None)
        return data


class PhotoFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "JPEG, PNG or WebP, at most 10 MB"})


class InspectionSchema(Schema):
    id = fields.String(required=True)
    client_uuid = fields.String(required=True)
    site_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
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
    status = fields.String(required=True)
    reviewed_by_id = fields.String(allow_none=True, required=True)
    reviewed_at = RFC3339DateTime(allow_none=True, required=True)
    review_comment = fields.String(allow_none=True, required=True)
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
    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "dismissed")))
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))
