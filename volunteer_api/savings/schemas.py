"""The savings endpoints' HTTP contract."""
from marshmallow import Schema, fields, validate

from ..ids import Id
from ..money import KZT
from ..pagination import MAX_LIMIT, PageArgsSchema
from ..people.schemas import VolunteerSummarySchema
from ..sites.schemas import SiteSummarySchema
from ..schemas import QueryList
from ..timestamps import BoundedDate, RFC3339DateTime
from .models import SAVING_CATEGORIES, SAVING_STATUSES

DECISIONS = ("approved", "rejected")
BREAKDOWNS = ("site", "volunteer", "category", "month")


class SavingCreateSchema(Schema):
    client_uuid = fields.UUID(required=True, metadata={"description": "Made on the phone; a retry repeats it."})
    site_id = Id(required=True)
    amount_tiyn = KZT(data_key="amount_kzt", required=True)
    category = fields.String(required=True, validate=validate.OneOf(SAVING_CATEGORIES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    evidence_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                              validate=validate.Length(max=2000))


class SavingSchema(Schema):
    id = fields.String(required=True)
    client_uuid = fields.String(required=True)
    site_id = fields.String(required=True)
    volunteer_id = fields.String(required=True)
    volunteer = fields.Nested(VolunteerSummarySchema, required=True)
    site = fields.Nested(SiteSummarySchema, required=True)
    district = fields.String(required=True)
    amount_kzt = KZT(attribute="amount_tiyn", required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    evidence_url = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"enum": list(SAVING_STATUSES)})
    created_at = RFC3339DateTime(required=True)
    reviewed_by_id = fields.String(allow_none=True, required=True)
    reviewed_at = RFC3339DateTime(allow_none=True, required=True)
    review_comment = fields.String(allow_none=True, required=True)
    updated_at = RFC3339DateTime(required=True)


class SavingReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class SavingListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(SAVING_STATUSES))
    site_id = Id()
    volunteer_id = Id(metadata={"description": "A volunteer only ever sees their own reports."})
    district = fields.String(validate=validate.Length(min=1, max=32))
    category = fields.String(validate=validate.OneOf(SAVING_CATEGORIES))


class TotalsArgsSchema(Schema):
    by = QueryList(
        fields.String(validate=validate.OneOf(BREAKDOWNS)),
        load_default=(),
        metadata={"description": "Extra breakdowns: site, volunteer, category, month (`by=site,month` or "
                                 "`by=site&by=month`). "
                                 "`month` is the month (UTC) in which a saving was approved."},
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "How many sites and volunteers (largest approved totals first)."},
    )


class _Amounts(Schema):
    approved_kzt = KZT(attribute="approved_tiyn", required=True)
    approved_count = fields.Integer(required=True)
    pending_kzt = KZT(attribute="pending_tiyn", required=True)
    pending_count = fields.Integer(required=True)


class DistrictTotalSchema(_Amounts):
    district = fields.String(required=True)


class SiteTotalSchema(_Amounts):
    site_id = fields.String(required=True)
    site_name = fields.String(allow_none=True, required=True)
    district = fields.String(allow_none=True, required=True)


class VolunteerTotalSchema(_Amounts):
    volunteer_id = fields.String(required=True)
    badge_number = fields.String(allow_none=True, required=True)


class CategoryTotalSchema(_Amounts):
    category = fields.String(required=True)


class MonthTotalSchema(Schema):
    month = fields.String(required=True, metadata={"example": "2026-05", "description": "Approval month, UTC."})
    approved_kzt = KZT(attribute="approved_tiyn", required=True)
    approved_count = fields.Integer(required=True)


class TotalsSchema(_Amounts):
    by_district = fields.List(fields.Nested(DistrictTotalSchema), required=True)
    by_site = fields.List(fields.Nested(SiteTotalSchema))
    by_volunteer = fields.List(fields.Nested(VolunteerTotalSchema))
    by_category = fields.List(fields.Nested(CategoryTotalSchema))
    by_month = fields.List(fields.Nested(MonthTotalSchema))
    as_of = RFC3339DateTime(allow_none=True, required=True,
                            metadata={"description": "When the workers last verified these totals (a report's "
                                                    "recompute or the 5-minute reconciliation); null before "
                                                    "the first run."})


class ExportArgsSchema(Schema):
    date_from = BoundedDate(data_key="from", load_default=None,
                            metadata={"description": "First approval date (UTC), inclusive."})
    date_to = BoundedDate(data_key="to", load_default=None,
                          metadata={"description": "Last approval date (UTC), inclusive."})
    district = fields.String(validate=validate.Length(min=1, max=32), load_default=None)
