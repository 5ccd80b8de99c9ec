"""Daily quotas per volunteer: inspections, savings reports and photo bytes; 429 until Almaty midnight."""
import io
import re
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from tests.field_support import create_site, image_bytes, inspection_body
from tests.photo_store_support import use_an_unreachable_s3_store
from tests.test_savings import saving_body
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection, Photo
from volunteer_api.quotas import DailyUsage, forget_old_usage, seconds_until_next_local_day, use_quota
from volunteer_api.savings.models import SavingsReport

API = "/api/v1"


@pytest.fixture
def quotas(app, monkeypatch):
    """Set this test's daily limits (the app is shared: monkeypatch puts them back)."""

    def limit(**limits):
        for kind, value in limits.items():
            monkeypatch.setitem(app.config["DAILY_QUOTAS"], kind, value)

    return limit


@pytest.fixture
def site(client, admin):
    return create_site(client, admin)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("language, words", [("en", "daily limit of 3 inspections"), ("ru", "лимит: 3 инспекций"),
                                             ("kk", "шекке жеттіңіз: 3 тексеру")])
def test_past_the_daily_inspections_the_volunteer_gets_429_until_almaty_midnight(
        app, client, quotas, volunteer, make_volunteer, site, language, words):
    quotas(inspections=3)
    bodies = [inspection_body(site["id"]) for _ in range(4)]
    for body in bodies[:3]:
        assert client.post(f"{API}/inspections", headers=volunteer.headers, json=body).status_code == 201
    refused = client.post(f"{API}/inspections", headers={**volunteer.headers, "Accept-Language": language},
                          json=bodies[3])
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert words in refused.get_json()["detail"]
    retry_after = int(refused.headers["Retry-After"])
    expected = seconds_until_next_local_day(datetime.now(timezone.utc))
    assert 0 < retry_after <= 86_400 and abs(retry_after - expected) <= 5
    assert count(app, Inspection) == 3
    # A retry of a filing already made is not a new filing: still answered.
    assert client.post(f"{API}/inspections", headers=volunteer.headers, json=bodies[0]).status_code == 200
    # The quota is per volunteer.
    other = make_volunteer()
    assert client.post(f"{API}/inspections", headers=other.headers, json=bodies[3]).status_code == 201


def test_past_the_daily_savings_reports_the_volunteer_gets_429(app, client, quotas, volunteer, site):
    quotas(savings=2)
    for _ in range(2):
        assert client.post(f"{API}/savings", headers=volunteer.headers, json=saving_body(site["id"])).status_code == 201
    refused = client.post(f"{API}/savings", headers={**volunteer.headers, "Accept-Language": "en"},
                          json=saving_body(site["id"]))
    assert refused.status_code == 429 and "savings reports" in refused.get_json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert count(app, SavingsReport) == 2


def test_past_the_daily_photo_bytes_nothing_more_is_stored(app, client, quotas, volunteer, site, photo_store,
                                                           run_jobs):
    photos = [image_bytes(color=(n * 40, 10, 10)) for n in range(3)]
    quotas(photo_bytes=len(photos[0]) + len(photos[1]))
    inspection = client.post(f"{API}/inspections", headers=volunteer.headers, json=inspection_body(site["id"]))
    url = f"{API}/inspections/{inspection.get_json()['id']}/photos"

    def upload(data):
        return client.post(url, headers={**volunteer.headers, "Accept-Language": "en"},
                           data={"file": (io.BytesIO(data), "p.jpg", "image/jpeg")}, content_type="multipart/form-data")

    assert [upload(photos[0]).status_code, upload(photos[1]).status_code] == [201, 201]
    refused = upload(photos[2])
    assert refused.status_code == 429 and "MB of photos" in refused.get_json()["detail"]
    assert count(app, Photo) == 2
    # Two originals in the store, each named by its sha256 (the previews the workers make sit beside them).
    run_jobs()
    assert len([key for key in photo_store.keys() if re.fullmatch("[0-9a-f]{2}/[0-9a-f]{64}", key)]) == 2
    assert upload(photos[0]).status_code == 200  # the same photo again stores nothing: not counted


def test_the_quota_resets_at_midnight_in_almaty(app_ctx, app, quotas, make_volunteer):
    from volunteer_api.errors import TooManyRequests

    quotas(inspections=1)
    volunteer_id = int(make_volunteer().id)
    before_midnight = datetime(2026, 6, 1, 18, 59, 30, tzinfo=timezone.utc)  # 23:59:30 in Almaty (UTC+5)
    use_quota(user_id=volunteer_id, kind="inspections", now=before_midnight)
    db.session.commit()
    with pytest.raises(TooManyRequests) as refused, app.test_request_context():
        use_quota(user_id=volunteer_id, kind="inspections", now=before_midnight)
    assert refused.value.headers == {"Retry-After": "30"}
    use_quota(user_id=volunteer_id, kind="inspections", now=datetime(2026, 6, 1, 19, 0, 1, tzinfo=timezone.utc))
    db.session.commit()
    days = db.session.execute(select(DailyUsage.day, DailyUsage.amount).order_by(DailyUsage.day)).all()
    assert [(str(day), amount) for day, amount in days] == [("2026-06-01", 1), ("2026-06-02", 1)]
    # The sweep forgets the days no quota reads any more.
    assert forget_old_usage() == 2
    assert db.session.scalar(select(func.count()).select_from(DailyUsage)) == 0


@pytest.mark.postgres
def test_concurrent_filings_cannot_pass_the_quota_together(app, quotas, volunteer, site):
    quotas(inspections=5)
    barrier = threading.Barrier(12)
    statuses = []

    def post():
        body = inspection_body(site["id"])
        barrier.wait()
        statuses.append(app.test_client().post(f"{API}/inspections", headers=volunteer.headers, json=body).status_code)

    threads = [threading.Thread(target=post) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] * 5 + [429] * 7
    assert count(app, Inspection) == 5


def photo_bytes_used(app, volunteer) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(DailyUsage.amount), 0)).where(
            DailyUsage.user_id == int(volunteer.id), DailyUsage.kind == "photo_bytes"))


def test_concurrent_uploads_of_the_same_photo_charge_its_bytes_once(app, client, quotas, volunteer, site,
                                                                    photo_store):
    """Each upload is charged before its bytes reach the store; the ones that found the photo added by
    another meanwhile are given their charge back."""
    from tests.support import concurrently

    quotas(photo_bytes=50 * 1024 * 1024)
    inspection = client.post(f"{API}/inspections", headers=volunteer.headers, json=inspection_body(site["id"]))
    url = f"{API}/inspections/{inspection.get_json()['id']}/photos"
    data = image_bytes(color=(10, 200, 10))
    answers = concurrently(5, lambda: app.test_client().post(
        url, headers=volunteer.headers, data={"file": (io.BytesIO(data), "p.jpg")}, content_type="multipart/form-data"))
    assert sorted(answer.status_code for answer in answers) == [200] * 4 + [201]
    assert photo_bytes_used(app, volunteer) == len(data)


def test_an_upload_the_store_could_not_take_is_not_charged(app, client, quotas, volunteer, site, monkeypatch):
    quotas(photo_bytes=50 * 1024 * 1024)
    inspection = client.post(f"{API}/inspections", headers=volunteer.headers, json=inspection_body(site["id"]))
    use_an_unreachable_s3_store(app, monkeypatch)
    response = client.post(f"{API}/inspections/{inspection.get_json()['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(image_bytes()), "p.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 503
    assert photo_bytes_used(app, volunteer) == 0 and count(app, Photo) == 0
