from flask_babel import get_locale
from marshmallow import Schema, fields


class DistrictSchema(Schema):
    code = fields.String(required=True)
    name = fields.Method("localized_name", required=True)
    region = fields.String(required=True)
    centre = fields.String(required=True)
    location = fields.Method("centre_location", required=True)
    names = fields.Method("all_names", required=True)

    def localized_name(self, district) -> str:
        return district.name_in(str(get_locale() or "ru"))

    def centre_location(self, district) -> dict:
        return {"lat": district.lat, "lon": district.lon}

    def all_names(self, district) -> dict:
        return {"ru": district.name_ru, "kk": district.name_kk, "en": district.name_en}


class DistrictListSchema(Schema):
    items = fields.List(fields.Nested(DistrictSchema), required=True)
