"""The corruption-risk map: RFC 7946, longitude first, streamed, filterable by district and risk level."""
import geojson
import pytest

from tests.field_support import TARAZ, create_site, file_inspection
from tests.test_summaries import counted_statements

MAP = "/api/v1/map/sites.geojson"


@pytest.fixture
def sites(app_ctx, client, admin, run_jobs):
    made = [create_site(client, admin, name="School No. 1"),
            create_site(client, admin, name="Road", kind="road", budget_kzt="1000000.00"),
            create_site(client, admin, name="Merke clinic", kind="clinic", district="merke",
                        location={"lat": 42.87, "lon": 73.18})]
    run_jobs(lambda: _assessed() == 3)
    return made


def _assessed() -> int:
    from volunteer_api.database import db
    from volunteer_api.risk.models import SiteRisk

    count = db.session.query(SiteRisk).count()
    db.session.remove()
    return count


def read_map(client, account, **query) -> geojson.FeatureCollection:
    response = client.get(MAP, headers=account.headers, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    assert response.is_streamed
    collection = geojson.loads(response.get_data(as_text=True))
    assert isinstance(collection, geojson.FeatureCollection)
    assert collection.is_valid, collection.errors()
    return collection


def test_the_map_is_a_valid_feature_collection_longitude_first(client, monkeypatch, volunteer, sites, run_jobs):
    from volunteer_api.maps import services

    monkeypatch.setattr(services, "BATCH", 2)  # three sites: two batches, joined by one comma
    file_inspection(client, volunteer, sites[0]["id"], severity="high")
    run_jobs(lambda: read_map(client, volunteer)["features"][0]["properties"]["risk_level"] == "medium")
    collection = read_map(client, volunteer)
    assert [feature["properties"]["name"] for feature in collection["features"]] == [
        "School No. 1", "Road", "Merke clinic"]
    school = collection["features"][0]
    assert school["geometry"] == {"type": "Point", "coordinates": [TARAZ[1], TARAZ[0]]}
    assert school["properties"] == {
        "id": sites[0]["id"], "name": "School No. 1", "kind": "school", "district": "taraz",
        "status": "under_construction", "budget_kzt": "1250000000.55", "risk_level": "medium", "open_flags": 1,
        "approved_savings_kzt": "0.00"}
    assert collection["features"][1]["properties"]["risk_level"] == "low"


def test_the_map_filters_by_district_and_risk_level(client, inspector, sites):
    assert [f["properties"]["name"] for f in read_map(client, inspector, district="merke")["features"]] == [
        "Merke clinic"]
    low = read_map(client, inspector, risk="low")["features"]
    assert {f["properties"]["name"] for f in low} == {"School No. 1", "Road", "Merke clinic"}
    assert read_map(client, inspector, risk="critical")["features"] == []
    assert read_map(client, inspector, district="shu")["features"] == []
    assert client.get(MAP, headers=inspector.headers, query_string={"risk": "extreme"}).status_code == 422
    assert client.get(MAP).status_code == 401


def test_an_empty_register_is_an_empty_collection(client, volunteer):
    assert read_map(client, volunteer)["features"] == []


def test_the_map_costs_one_statement_per_batch_however_many_sites(app, client, monkeypatch, admin, volunteer, sites):
    from volunteer_api.maps import services

    with counted_statements(app) as three_sites:
        read_map(client, volunteer)
    for number in range(3):
        create_site(client, admin, name=f"School No. {10 + number}")
    with counted_statements(app) as six_sites:
        assert len(read_map(client, volunteer)["features"]) == 6
    assert len(six_sites) == len(three_sites)  # no statement per site
    monkeypatch.setattr(services, "BATCH", 2)
    with counted_statements(app) as in_batches_of_two:
        read_map(client, volunteer)
    assert len(in_batches_of_two) == len(six_sites) + 2  # three batches and the empty one, instead of one and it
