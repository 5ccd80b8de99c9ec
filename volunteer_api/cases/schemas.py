"""The cases endpoints' HTTP contract."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from flask_babel import lazy_gettext as _l

from ..timestamps import RFC3339DateTime
from .models import OUTCOMES, REFERRAL_CHANNELS


class ReferralCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(REFERRAL_CHANNELS),
                            metadata={"description": "call_centre_1424 (the Agency's call-centre), eotinish "
                                                     "(the e-government appeals portal), department, prosecutor"})
    case_number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    referred_at = RFC3339DateTime(required=True)


class ResolutionCreateSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    resolved_at = RFC3339DateTime(required=True)


class ReferralSchema(Schema):
    channel = fields.String(required=True)
    case_number = fields.String(required=True)
    referred_at = RFC3339DateTime(required=True)
    recorded_at = RFC3339DateTime(required=True)


class ResolutionSchema(Schema):
    outcome = fields.String(required=True)
    comment = fields.String(required=True)
    resolved_at = RFC3339DateTime(required=True)
    recorded_at = RFC3339DateTime(required=True)


class CaseSchema(Schema):
    referral = fields.Nested(ReferralSchema, allow_none=True, required=True)
    resolution = fields.Nested(ResolutionSchema, allow_none=True, required=True)


class OutcomeArgsSchema(Schema):
    district = fields.String(validate=validate.Length(min=1, max=32), load_default=None)
    date_from = fields.Date(data_key="from", load_default=None,
                            metadata={"description": "First confirmation date (Asia/Almaty), inclusive."})
    date_to = fields.Date(data_key="to", load_default=None,
                          metadata={"description": "Last confirmation date (Asia/Almaty), inclusive."})

    @validates_schema
    def from_before_to(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError(_l("The end date is before the start date."), field_name="to")


_FIX_RATE = {"description": "fixed ÷ confirmed, two decimals; null when nothing was confirmed", "example": "0.50"}
_MEDIAN = {"description": "Median whole days from confirmation to the fix (Asia/Almaty dates) of the fixed "
                          "cases; null when none was fixed"}


class OutcomeFiguresSchema(Schema):
    confirmed = fields.Integer(required=True, metadata={"description": "Inspections confirmed in the period (cases)"})
    referred = fields.Integer(required=True, metadata={"description": "Of those, referred"})
    resolved = fields.Integer(required=True, metadata={"description": "Of those, resolved (any outcome)"})
    fixed = fields.Integer(required=True, metadata={"description": "Of those, resolved as fixed"})
    fix_rate = fields.String(allow_none=True, required=True, metadata=_FIX_RATE)
    median_days_to_fix = fields.Float(allow_none=True, required=True, metadata=_MEDIAN)


class DistrictOutcomeSchema(OutcomeFiguresSchema):
    district = fields.String(required=True)


class OutcomesSchema(OutcomeFiguresSchema):
    date_from = fields.Date(data_key="from", allow_none=True, required=True)
    date_to = fields.Date(data_key="to", allow_none=True, required=True)
    by_district = fields.List(fields.Nested(DistrictOutcomeSchema), required=True)
    as_of = RFC3339DateTime(allow_none=True, required=True,
                            metadata={"description": "When the workers last recomputed these figures (the oldest "
                                                     "of the districts answered); null before the first run"})
