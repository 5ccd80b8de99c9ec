from marshmallow import Schema, fields

from ..money import KZT
from ..timestamps import RFC3339DateTime

_FIX_RATE = {"description": "fixed ÷ confirmed, two decimals; null when nothing was confirmed"}


class DistrictNamesSchema(Schema):
    ru = fields.String(required=True)
    kk = fields.String(required=True)
    en = fields.String(required=True)


class PublicDistrictSchema(Schema):
    district = fields.String(required=True)
    names = fields.Nested(DistrictNamesSchema, required=True)
    approved_kzt = KZT(attribute="approved_tiyn", required=True)
    approved_count = fields.Integer(required=True)
    sites_monitored = fields.Integer(required=True)
    inspections = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    fixed = fields.Integer(required=True)
    fix_rate = fields.String(allow_none=True, required=True, metadata=_FIX_RATE)


class PublicSummarySchema(Schema):
    approved_kzt = KZT(attribute="approved_tiyn", required=True, metadata={"description": "Approved savings"})
    approved_count = fields.Integer(required=True)
    sites_monitored = fields.Integer(required=True, metadata={"description": "Sites in the monitored register"})
    inspections = fields.Integer(required=True, metadata={"description": "Inspections filed by volunteers"})
    confirmed = fields.Integer(required=True, metadata={"description": "Violations confirmed (the fix rate's denominator)"})
    fixed = fields.Integer(required=True, metadata={"description": "Of those, fixed (the fix rate's numerator)"})
    fix_rate = fields.String(allow_none=True, required=True, metadata=_FIX_RATE)
    by_district = fields.List(fields.Nested(PublicDistrictSchema), required=True)
    as_of = RFC3339DateTime(allow_none=True, required=True,
                            metadata={"description": "When the workers last computed the oldest figure shown"})
