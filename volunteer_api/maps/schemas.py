from marshmallow import Schema, fields, validate

from ..risk.rules import RISK_LEVELS


class MapArgsSchema(Schema):
    district = fields.String(validate=validate.Length(min=1, max=32), load_default=None)
    risk_level = fields.String(data_key="risk", validate=validate.OneOf(RISK_LEVELS), load_default=None,
                               metadata={"description": "Only sites of this risk level (unassessed sites have none)"})
