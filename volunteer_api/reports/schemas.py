from marshmallow import Schema, fields, validate


class MonthlyReportArgsSchema(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
                          metadata={"example": "2026-11", "description": "A month that is over (Asia/Almaty)"})
    file_format = fields.String(data_key="format", load_default="xlsx", validate=validate.OneOf(("xlsx", "pdf")))
