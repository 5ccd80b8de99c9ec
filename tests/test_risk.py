"""The risk of each site: likelihood × impact from rules.py, assessed by the workers."""
import pytest
from sqlalchemy import func, select

from tests.field_support import FIVE_KM_NORTH, create_site, file_inspection
from volunteer_api.extensions import db
from volunteer_api.risk import rules
from volunteer_api.risk.models import SiteRisk
from volunteer_api.risk.services import reassess_all_risks

V1 = "/api/v1"


def factor(risk: dict, name: str) -> dict:
    return next(item for item in risk["factors"] if item["name"] == name)


def test_the_rules_multiply_likelihood_by_impact():
    calm = rules.assess(inputs={}, budget_tiyn=50_000_000_00, kind="road")
    assert (calm["likelihood"], calm["impact"], calm["score"], calm["level"]) == (1, 1, 1, "low")
    worst = rules.assess(inputs={"confirmed_violations": 5, "open_flags": 3, "suspect_filings": 4,
                                 "schedule_delays": 1, "returned_inspections": 1, "contractor_violations": 9},
                         budget_tiyn=20_000_000_000_00, kind="hospital")
    assert (worst["likelihood"], worst["impact"], worst["score"], worst["level"]) == (5, 5, 25, "critical")
    school = rules.assess(inputs={"confirmed_violations": 1, "open_flags": 1}, budget_tiyn=1_250_000_000_55,
                          kind="school")
    # 1 + 1 (a confirmed violation) + 1 (an open flag) = 3; budget band 3 + 1 for a school = 4.
    assert (school["likelihood"], school["impact"], school["score"], school["level"]) == (3, 4, 12, "high")
    assert [f["name"] for f in school["factors"]] == [
        "confirmed_violations", "open_flags", "suspect_filings", "schedule_delays", "returned_inspections",
        "contractor_violations", "budget", "facility_kind"]
    assert [rules.level_of(score) for score in (1, 4, 5, 9, 10, 16, 17, 25)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]


def test_a_site_answers_the_risk_the_workers_assessed(client, admin, volunteer, inspector, run_jobs):
    site = create_site(client, admin)
    assert site["risk"] is None  # never computed on the request path
    read = lambda: client.get(f"{V1}/sites/{site['id']}", headers=volunteer.headers).get_json()["risk"]  # noqa: E731
    risk = run_jobs(read)
    assert (risk["likelihood"], risk["impact"], risk["score"], risk["level"]) == (1, 4, 4, "low")
    assert factor(risk, "facility_kind") == {"name": "facility_kind", "part": "impact", "value": "school", "points": 1}

    file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    flagged = file_inspection(client, volunteer, site["id"], mock=True, severity="high")
    risk = run_jobs(lambda: (r := read())["likelihood"] == 3 and r)
    # Both are flagged (off site; mock location and severity) and both are suspect filings.
    assert factor(risk, "open_flags")["value"] == 2 and factor(risk, "suspect_filings")["value"] == 2
    client.post(f"{V1}/inspections/{flagged['id']}/review", headers=inspector.headers,
                json={"decision": "confirmed", "comment": "Seen."})
    risk = run_jobs(lambda: factor(r := read(), "confirmed_violations")["value"] == 1 and r)
    assert factor(risk, "open_flags")["value"] == 1
    assert (risk["likelihood"], risk["score"], risk["level"]) == (4, 16, "high")
    listed = client.get(f"{V1}/sites", headers=volunteer.headers).get_json()["items"]
    assert listed[0]["risk"]["score"] == 16


def test_the_contractors_record_reaches_its_other_sites_with_the_sweep(app, client, admin, volunteer, inspector,
                                                                      run_jobs):
    sites = [create_site(client, admin, contractor="Shady LLP") for _ in range(3)]
    for site in sites[1:]:
        flagged = file_inspection(client, volunteer, site["id"], severity="critical")
        client.post(f"{V1}/inspections/{flagged['id']}/review", headers=inspector.headers,
                    json={"decision": "confirmed", "comment": "Seen."})
    run_jobs()
    with app.app_context():
        reassess_all_risks(batch_size=2)
        assert reassess_all_risks() == 0  # nothing changed: nothing rewritten
        assert db.session.scalar(select(func.count()).select_from(SiteRisk)) == 3
    risk = client.get(f"{V1}/sites/{sites[0]['id']}", headers=volunteer.headers).get_json()["risk"]
    assert factor(risk, "contractor_violations") == {"name": "contractor_violations", "part": "likelihood",
                                                     "value": 2, "points": 1}


def test_the_factors_and_weights_are_documented_in_openapi(client):
    document = client.get(f"{V1}/openapi.json").get_json()
    description = document["components"]["schemas"]["Site"]["properties"]["risk"]["description"]
    for factor_rule in rules.LIKELIHOOD_FACTORS:
        assert f"`{factor_rule.name}`" in description
    assert "likelihood (1-5) × impact (1-5)" in description


@pytest.mark.parametrize("budget_kzt,band", [(1, 1), (99_999_999, 1), (100_000_000, 2), (9_999_999_999, 4),
                                             (10_000_000_000, 5)])
def test_budget_bands(budget_kzt, band):
    assert rules.budget_band(budget_kzt * 100) == band
