"""The compiled dump of the inspection and photo schemas answers exactly what marshmallow's own dump answers."""
import io

import marshmallow
import pytest
from marshmallow import Schema, fields, post_dump, pre_dump

from tests.field_support import TARAZ, create_site, file_inspection, gps_exif, image_bytes
from tests.test_cases import refer, resolve
from volunteer_api.schemas import CompiledDumpSchema, compile_dump
from volunteer_api.timestamps import RFC3339DateTime, utcnow


@pytest.fixture
def uploads(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))


def review(client, inspector, inspection_id, decision):
    response = client.post(f"/api/v1/inspections/{inspection_id}/review", headers=inspector.headers,
                           json={"decision": decision, "comment": "Seen on site."})
    assert response.status_code == 200, response.get_json()


def test_pages_and_answers_are_the_same_as_marshmallows(client, admin, volunteer, inspector, uploads, monkeypatch):
    site = create_site(client, admin)
    plain = file_inspection(client, volunteer, site["id"])
    with_photos = file_inspection(client, volunteer, site["id"], severity="low", notes="Крыша течёт")
    for data in (image_bytes(), image_bytes(color=(10, 20, 30), exif=gps_exif(*TARAZ))):
        response = client.post(f"/api/v1/inspections/{with_photos['id']}/photos", headers=volunteer.headers,
                               data={"file": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
    confirmed = file_inspection(client, volunteer, site["id"], severity="high")
    review(client, inspector, confirmed["id"], "confirmed")
    assert refer(client, inspector, confirmed["id"]).status_code == 200
    assert resolve(client, inspector, confirmed["id"]).status_code == 200
    referred_only = file_inspection(client, volunteer, site["id"], severity="critical")
    review(client, inspector, referred_only["id"], "confirmed")
    assert refer(client, inspector, referred_only["id"]).status_code == 200
    returned = file_inspection(client, volunteer, site["id"], severity="medium", mock=True)
    review(client, inspector, returned["id"], "returned")
    urls = ["/api/v1/inspections?limit=50", "/api/v1/inspections?limit=2", *(
        f"/api/v1/inspections/{item['id']}" for item in (plain, with_photos, confirmed, referred_only, returned)),
        f"/api/v1/inspections/{with_photos['id']}/photos"]

    def answers():
        return [client.get(url, headers=account.headers).get_json() for url in urls for account in (admin, volunteer)]

    from volunteer_api.inspections.schemas import InspectionSchema, PhotoSchema

    assert compile_dump(InspectionSchema()) and compile_dump(PhotoSchema())  # the plan covers them: it is compared
    compiled = answers()
    photos = next(item for item in compiled[0]["items"] if item["id"] == with_photos["id"])["photos"]
    assert ["exif_location" in photo for photo in photos] == [False, True]  # both kinds present
    assert {item["status"] for item in compiled[0]["items"]} == {"submitted", "confirmed", "returned"}
    monkeypatch.setattr(CompiledDumpSchema, "dump", marshmallow.Schema.dump)
    assert answers() == compiled


class Inner(Schema):
    name = fields.String(required=True)
    at = RFC3339DateTime(allow_none=True)

    @post_dump
    def drop_empty_time(self, data, **kwargs):
        if data.get("at") is None:
            data.pop("at", None)
        return data


class Outer(CompiledDumpSchema):
    id = fields.String()
    count = fields.Integer()
    ratio = fields.Float()
    on = fields.Boolean()
    tags = fields.List(fields.String())
    extra = fields.Dict()
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))
    renamed = fields.String(data_key="shown_as", attribute="hidden")


class Thing:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_every_kind_of_field_dumps_as_marshmallow_does():
    values = dict(id=7, count="3", ratio=2, on=1, tags=["a", None, 5], extra={"k": [1]}, hidden="x",
                  inner=Thing(name="n", at=utcnow()), inners=[{"name": b"bytes", "at": None}, None])
    schema = Outer()
    for thing in (Thing(**values), values, Thing(id=None, inner=None), {}):  # an object, a mapping, missing values
        assert schema.dump(thing) == marshmallow.Schema.dump(schema, thing)
    assert schema.dump([values], many=True) == marshmallow.Schema.dump(schema, [values], many=True)


def test_a_schema_the_plan_does_not_cover_dumps_through_marshmallow():
    class WithPreDump(CompiledDumpSchema):
        name = fields.String()

        @pre_dump
        def upper(self, data, **kwargs):
            return {"name": data["name"].upper()}

    assert compile_dump(WithPreDump()) is None
    assert WithPreDump().dump({"name": "a"}) == {"name": "A"}
