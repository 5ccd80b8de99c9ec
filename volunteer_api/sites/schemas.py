"""The sites endpoints' HTTP contract."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..geo import PointSchema, parse_point
from ..money import KZT
from ..pagination import PageArgsSchema
from ..risk.schemas import RISK_DESCRIPTION, RiskSchema
from ..schemas import ChangesSchema
from ..timestamps import BoundedDate, RFC3339DateTime
from .models import SITE_KINDS, SITE_STATUSES

MAX_NEAR_RADIUS_M = 50_000
DEFAULT_NEAR_RADIUS_M = 2_000


class SiteCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(required=True, validate=validate.OneOf(SITE_KINDS))
    district = fields.String(required=True, validate=validate.Length(min=1, max=32))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    location = fields.Nested(PointSchema, required=True)
    geofence_radius_m = fields.Integer(strict=True, load_default=300, validate=validate.Range(min=10, max=10_000))
    budget_kzt = KZT(required=True)
    contractor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    contract_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    planned_completion = BoundedDate(load_default=None, allow_none=True)
    status = fields.String(load_default="under_construction", validate=validate.OneOf(SITE_STATUSES))


class SiteCsvRowSchema(SiteCreateSchema):
    """A row of the CSV import: every cell is text, so a number arrives as digits (JSON must send a number)."""

    geofence_radius_m = fields.Integer(load_default=300, validate=validate.Range(min=10, max=10_000))


class SiteUpdateSchema(ChangesSchema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    kind = fields.String(validate=validate.OneOf(SITE_KINDS))
    district = fields.String(validate=validate.Length(min=1, max=32))
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    location = fields.Nested(PointSchema)
    geofence_radius_m = fields.Integer(strict=True, validate=validate.Range(min=10, max=10_000))
    budget_kzt = KZT()
    contractor = fields.String(allow_none=True, validate=validate.Length(max=300))
    contract_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    planned_completion = BoundedDate(allow_none=True)
    status = fields.String(validate=validate.OneOf(SITE_STATUSES))


class SiteSummarySchema(Schema):
    """Which site an inspection or a savings report is about."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    district = fields.String(required=True)


class SiteSchema(Schema):
    """A site as every signed-in user sees it."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    district = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    location = fields.Nested(PointSchema, required=True)
    geofence_radius_m = fields.Integer(required=True)
    budget_kzt = KZT(attribute="budget_tiyn", required=True)
    contractor = fields.String(allow_none=True, required=True)
    contract_number = fields.String(allow_none=True, required=True)
    planned_completion = fields.Date(allow_none=True, required=True)
    status = fields.String(required=True)
    created_at = RFC3339DateTime(required=True)
    updated_at = RFC3339DateTime(required=True)
    open_flags = fields.Integer(dump_default=0, metadata={"description": "Flagged inspections not yet decided (awaiting review, or returned to their volunteer)"})
    approved_savings_kzt = KZT(attribute="approved_savings_tiyn", dump_default=0,
                               metadata={"description": "Approved savings, as last totalled by the workers"})
    distance_m = fields.Float(metadata={"description": "Only with ?near=: geodesic distance from that point"})
    risk = fields.Nested(RiskSchema, allow_none=True, dump_default=None, metadata={"description": RISK_DESCRIPTION})


class NearPoint(fields.String):
    """`lat,lon` in decimal degrees."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_point(text)
        except ValueError as exc:
            raise ValidationError(_l("Give the point as lat,lon in decimal degrees, e.g. 42.90,71.36.")) from exc


class SiteListArgsSchema(PageArgsSchema):
    district = fields.String(validate=validate.Length(min=1, max=32))
    status = fields.String(validate=validate.OneOf(SITE_STATUSES))
    flagged = fields.Boolean(metadata={"description": "true: only sites with flagged inspections not yet reviewed"})
    near = NearPoint(metadata={"description": "lat,lon: nearest first, each item with distance_m", "example": "42.90,71.36"})
    radius_m = fields.Integer(validate=validate.Range(min=1, max=MAX_NEAR_RADIUS_M),
                              metadata={"description": f"With near; default {DEFAULT_NEAR_RADIUS_M}"})

    @validates_schema
    def radius_needs_a_point(self, data, **kwargs):
        if "radius_m" in data and "near" not in data:
            raise ValidationError(_l("radius_m needs near."), field_name="radius_m")


class SiteImportResultSchema(Schema):
    created = fields.Integer(required=True)
    valid_rows = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    sites = fields.List(fields.Nested(SiteSchema), required=True)
