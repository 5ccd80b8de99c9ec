"""The risk of a site as the API answers it."""
from marshmallow import Schema, fields

from ..timestamps import RFC3339DateTime
from .rules import RISK_LEVELS, describe


class RiskFactorSchema(Schema):
    name = fields.String(required=True)
    part = fields.String(required=True, metadata={"enum": ["likelihood", "impact"]})
    value = fields.Raw(required=True, metadata={"description": "The count seen, the budget band, or the facility kind"})
    points = fields.Integer(required=True)


class RiskSchema(Schema):
    score = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 25})
    level = fields.String(required=True, metadata={"enum": list(RISK_LEVELS)})
    likelihood = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})
    impact = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})
    factors = fields.List(fields.Nested(RiskFactorSchema), required=True)
    computed_at = RFC3339DateTime(required=True)


RISK_DESCRIPTION = ("The site's corruption risk as the workers last assessed it (after each filing or review "
                    "that changes an input, and every 15 minutes); null until first assessed.\n\n" + describe())
