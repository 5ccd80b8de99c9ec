import hashlib
import io

import pytest
from sqlalchemy import func, select

from tests.field_support import TARAZ, create_site, file_inspection, gps_exif, image_bytes
from tests.photo_store_support import stored_bytes, stored_originals
from tests.support import concurrently
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Photo


@pytest.fixture
def inspection(client, admin, volunteer):
    site = create_site(client, admin)
    return file_inspection(client, volunteer, site["id"])


def upload(client, account, inspection_id, data: bytes, filename="photo.jpg", mimetype="image/jpeg"):
    return client.post(f"/api/v1/inspections/{inspection_id}/photos", headers=account.headers,
                       data={"file": (io.BytesIO(data), filename, mimetype)}, content_type="multipart/form-data")


def photo_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Photo))


def test_jpeg_is_stored_by_its_sha256(client, volunteer, inspection, photo_store, run_jobs):
    data = image_bytes("JPEG", size=(64, 48))
    response = upload(client, volunteer, inspection["id"], data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    digest = hashlib.sha256(data).hexdigest()
    assert body["sha256"] == digest and body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (64, 48) and "exif_location" not in body
    assert stored_bytes(photo_store, f"{digest[:2]}/{digest}") == data
    run_jobs()  # its previews' writes done (a write under way shows as its temporary file)
    assert stored_originals(photo_store) == [f"{digest[:2]}/{digest}"]  # no temp file left behind
    listed = client.get(f"/api/v1/inspections/{inspection['id']}", headers=volunteer.headers).get_json()["photos"]
    assert [photo["id"] for photo in listed] == [body["id"]]


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted(client, volunteer, inspection, photo_store, fmt, content_type):
    response = upload(client, volunteer, inspection["id"], image_bytes(fmt), filename="p.bin", mimetype="application/octet-stream")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == content_type


def test_same_photo_twice_is_stored_once(client, admin, volunteer, inspection, photo_store, app, run_jobs):
    data = image_bytes("JPEG")
    first = upload(client, volunteer, inspection["id"], data)
    again = upload(client, volunteer, inspection["id"], data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    second_inspection = file_inspection(client, volunteer, inspection["site_id"])
    other = upload(client, volunteer, second_inspection["id"], data)
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    run_jobs()  # the preview jobs write beside the original: a write under way shows as its temporary file
    assert len(stored_originals(photo_store)) == 1
    assert photo_count(app) == 2


def test_15_mb_upload_is_413_and_stores_nothing(client, volunteer, inspection, photo_store, app):
    data = image_bytes("JPEG") + b"\0" * (15 * 1024 * 1024)
    response = upload(client, volunteer, inspection["id"], data)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["status"] == 413
    assert stored_originals(photo_store) == [] and photo_count(app) == 0


def test_photo_just_over_10_mb_is_413_and_stores_nothing(client, volunteer, inspection, photo_store, app):
    data = image_bytes("JPEG") + b"\0" * (10 * 1024 * 1024)
    response = upload(client, volunteer, inspection["id"], data)
    assert response.status_code == 413 and response.get_json()["status"] == 413
    assert stored_originals(photo_store) == [] and photo_count(app) == 0


def test_text_file_renamed_jpg_is_415(client, volunteer, inspection, photo_store, app):
    response = upload(client, volunteer, inspection["id"], b"just some notes, not a photo\n" * 50)
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
    assert stored_originals(photo_store) == [] and photo_count(app) == 0


def test_gif_is_415_even_though_pillow_reads_it(client, volunteer, inspection, photo_store):
    response = upload(client, volunteer, inspection["id"], image_bytes("GIF"), filename="p.gif", mimetype="image/gif")
    assert response.status_code == 415


def test_damaged_jpeg_is_422(client, volunteer, inspection, photo_store, app):
    data = image_bytes("JPEG", size=(640, 480))
    response = upload(client, volunteer, inspection["id"], data[: len(data) // 3])
    assert response.status_code == 422 and "file" in response.get_json()["errors"]
    assert stored_originals(photo_store) == [] and photo_count(app) == 0


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(40, 40), (100, 100)])
def test_decompression_bomb_is_refused(client, volunteer, inspection, photo_store, app, monkeypatch, size):
    # 40x40 is just over the (lowered) limit; 100x100 is past twice it, where Pillow itself refuses to open.
    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 1000)
    response = upload(client, volunteer, inspection["id"], image_bytes("PNG", size=size), filename="bomb.png")
    assert response.status_code == 413
    assert stored_originals(photo_store) == [] and photo_count(app) == 0


def test_photo_with_exif_gps_reports_its_position_and_distance_to_the_site(client, volunteer, inspection, photo_store):
    lat, lon = TARAZ[0] + 0.009, TARAZ[1]  # ~1 km north of the site
    data = image_bytes("JPEG", exif=gps_exif(lat, lon))
    response = upload(client, volunteer, inspection["id"], data)
    assert response.status_code == 201, response.get_json()
    exif = response.get_json()["exif_location"]
    assert exif["lat"] == pytest.approx(lat, abs=1e-5) and exif["lon"] == pytest.approx(lon, abs=1e-5)
    assert 990 < exif["distance_m"] < 1010
    photos = client.get(f"/api/v1/inspections/{inspection['id']}", headers=volunteer.headers).get_json()["photos"]
    assert photos[0]["exif_location"] == exif


def test_southern_and_western_exif_positions_are_negative(client, volunteer, inspection, photo_store):
    response = upload(client, volunteer, inspection["id"], image_bytes("JPEG", exif=gps_exif(-33.86, -70.65)))
    exif = response.get_json()["exif_location"]
    assert exif["lat"] == pytest.approx(-33.86, abs=1e-5) and exif["lon"] == pytest.approx(-70.65, abs=1e-5)


def test_only_the_author_may_add_photos(client, make_volunteer, admin, inspector, inspection, photo_store):
    data = image_bytes("JPEG")
    assert upload(client, make_volunteer(), inspection["id"], data).status_code == 404
    assert upload(client, admin, inspection["id"], data).status_code == 403
    assert upload(client, inspector, inspection["id"], data).status_code == 403
    assert stored_originals(photo_store) == []


def test_no_photos_after_the_review(client, admin, volunteer, inspection, photo_store):
    review = client.post(f"/api/v1/inspections/{inspection['id']}/review", headers=admin.headers,
                         json={"decision": "confirmed", "comment": "ok"})
    assert review.status_code == 200
    response = upload(client, volunteer, inspection["id"], image_bytes("JPEG"))
    assert response.status_code == 409
    assert stored_originals(photo_store) == []


def test_a_retried_upload_whose_answer_was_lost_gets_the_same_photo_even_after_the_review(
        client, admin, volunteer, inspection, photo_store, app):
    data = image_bytes("JPEG")
    first = upload(client, volunteer, inspection["id"], data)
    assert first.status_code == 201
    client.post(f"/api/v1/inspections/{inspection['id']}/review", headers=admin.headers,
                json={"decision": "confirmed", "comment": "ok"})
    retry = upload(client, volunteer, inspection["id"], data)
    assert retry.status_code == 200 and retry.get_json()["id"] == first.get_json()["id"]
    assert photo_count(app) == 1
    assert upload(client, volunteer, inspection["id"], image_bytes("PNG")).status_code == 409


def test_upload_without_a_file_is_422(client, volunteer, inspection, photo_store):
    response = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"other": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422


def test_concurrent_identical_uploads_add_one_photo_and_all_get_its_answer(app, volunteer, inspection, photo_store,
                                                                           run_jobs):
    """A phone retrying before its first upload answered: one row, one stored original, never a 500
    (on SQLite, where FOR UPDATE does nothing, the database's writer lock serializes the inserts)."""
    data = image_bytes("JPEG", size=(80, 60))
    answers = concurrently(6, lambda: upload(app.test_client(), volunteer, inspection["id"], data))
    assert sorted(answer.status_code for answer in answers) == [200] * 5 + [201], [a.get_json() for a in answers]
    assert len({answer.get_json()["id"] for answer in answers}) == 1
    assert photo_count(app) == 1
    digest = hashlib.sha256(data).hexdigest()
    run_jobs()  # its previews' writes done (a write under way shows as its temporary file)
    assert stored_originals(photo_store) == [f"{digest[:2]}/{digest}"]


def test_concurrent_uploads_never_pass_the_photo_limit(app, volunteer, inspection, photo_store):
    from volunteer_api.inspections.services import MAX_PHOTOS

    with app.app_context():
        for n in range(MAX_PHOTOS - 2):
            db.session.add(Photo(inspection_id=int(inspection["id"]), sha256=f"{n:064x}", content_type="image/jpeg",
                                 size_bytes=1, width=1, height=1))
        db.session.commit()
    photos = [image_bytes("JPEG", color=(n * 40, 10, 10)) for n in range(6)]
    answers = concurrently(6, lambda: upload(app.test_client(), volunteer, inspection["id"], photos.pop()))
    assert sorted(answer.status_code for answer in answers) == [201, 201] + [422] * 4
    assert photo_count(app) == MAX_PHOTOS


def test_the_bytes_are_checked_and_stored_while_no_transaction_is_open(client, volunteer, inspection, photo_store,
                                                                       monkeypatch):
    """Pillow's check (10 MB) and the store's write (S3 retries) run outside any transaction: a transaction
    id held meanwhile would hold back every phone's /sync, and a lock and a pooled connection with it."""
    from volunteer_api.inspections import photos as photo_files

    seen = []

    def watched(name, real):
        def call(*args, **kwargs):
            seen.append((name, db.session().in_transaction()))
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(photo_files, "check_photo", watched("check", photo_files.check_photo))
    monkeypatch.setattr(photo_files, "store_photo", watched("store", photo_files.store_photo))
    assert upload(client, volunteer, inspection["id"], image_bytes("JPEG")).status_code == 201
    assert seen == [("check", False), ("store", False)]


def test_an_upload_to_someone_elses_or_a_reviewed_inspection_is_refused_before_the_bytes_are_checked(
        client, admin, make_volunteer, volunteer, inspection, photo_store, monkeypatch):
    from volunteer_api.inspections import photos as photo_files

    checked = []
    monkeypatch.setattr(photo_files, "check_photo", lambda *args, **kwargs: checked.append(args))
    assert upload(client, make_volunteer(), inspection["id"], image_bytes("JPEG")).status_code == 404
    client.post(f"/api/v1/inspections/{inspection['id']}/review", headers=admin.headers,
                json={"decision": "confirmed", "comment": "ok"})
    assert upload(client, volunteer, inspection["id"], image_bytes("JPEG")).status_code == 409
    assert checked == [] and stored_originals(photo_store) == []
