"""Reading photos back: the originals byte for byte, previews upright and without metadata, the camera's time."""
import hashlib
import io
import threading
from datetime import datetime, timezone

import pytest
from PIL import ExifTags, Image

from tests.field_support import create_site, file_inspection, gps_exif, image_bytes
from tests.photo_store_support import remove_stored, stored_keys
from tests.support import concurrently
from volunteer_api.timestamps import format_utc

INSPECTIONS = "/api/v1/inspections"
# What a preview must never carry: the EXIF block (GPS, camera serial), XMP, an ICC profile, a comment.
METADATA_MARKERS = (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE", b"GPS", b"Serial 0042")


@pytest.fixture
def site(client, admin):
    return create_site(client, admin)


@pytest.fixture
def inspection(client, volunteer, site):
    return file_inspection(client, volunteer, site["id"])


def upload(client, account, inspection_id, data: bytes) -> dict:
    response = client.post(f"{INSPECTIONS}/{inspection_id}/photos", headers=account.headers,
                           data={"file": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def camera_exif(*, taken: str | None = None, offset: str | None = None, orientation: int | None = None,
                gps: tuple[float, float] | None = None) -> Image.Exif:
    """EXIF as a phone writes it: DateTimeOriginal (+ OffsetTimeOriginal), orientation, GPS, a body serial."""
    exif = gps_exif(*gps) if gps else Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "Serial 0042"
    if taken:
        details[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    return exif


def two_colour_photo(size=(600, 400), exif=None, **save) -> bytes:
    """Left half red, right half blue; with EXIF, an ICC profile and XMP attached."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    image.save(buffer, format="JPEG", exif=exif if exif is not None else Image.Exif(), icc_profile=icc, xmp=xmp, **save)
    return buffer.getvalue()


def test_the_original_comes_back_byte_for_byte_with_its_sha256_as_etag(client, volunteer, inspection, photo_store):
    data = two_colour_photo(exif=camera_exif(gps=(42.9, 71.37)))
    photo = upload(client, volunteer, inspection["id"], data)
    url = f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}"
    response = client.get(url, headers=volunteer.headers)
    assert response.status_code == 200
    assert response.data == data  # evidence: never re-encoded, metadata kept
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'  # strong
    assert response.headers["Cache-Control"].split(",")[0] == "private"
    assert int(response.headers["Content-Length"]) == len(data)
    again = client.get(url, headers={**volunteer.headers, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == response.headers["ETag"]
    part = client.get(url, headers={**volunteer.headers, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == data[:100]


def test_the_photos_of_an_inspection_are_listed_with_the_cameras_time(client, volunteer, inspection, photo_store):
    # No offset tag: the camera's clock is read as Almaty time (UTC+5).
    first = upload(client, volunteer, inspection["id"], two_colour_photo(exif=camera_exif(taken="2026:05:14 10:30:00")))
    second = upload(client, volunteer, inspection["id"], image_bytes("PNG"))
    listed = client.get(f"{INSPECTIONS}/{inspection['id']}/photos", headers=volunteer.headers)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [item["id"] for item in items] == [first["id"], second["id"]]
    assert items[0]["exif_taken_at"] == "2026-05-14T05:30:00Z" and items[0]["photo_time_mismatch"] is True
    assert items[1]["exif_taken_at"] is None and items[1]["photo_time_mismatch"] is False


def test_the_cameras_offset_is_used_and_a_time_close_to_the_capture_is_no_mismatch(client, volunteer, site, photo_store):
    captured = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    inspection = file_inspection(client, volunteer, site["id"], captured_at=format_utc(captured))
    # 09:00 at UTC+3 is 06:00Z: an hour before the capture.
    photo = upload(client, volunteer, inspection["id"],
                   two_colour_photo(exif=camera_exif(taken="2026:11:30 09:00:00", offset="+03:00")))
    assert photo["exif_taken_at"] == "2026-11-30T06:00:00Z" and photo["photo_time_mismatch"] is False


@pytest.mark.parametrize("size", [320, 1280])
def test_a_preview_is_an_upright_jpeg_without_any_metadata(client, volunteer, inspection, photo_store, size):
    # Stored 2000x1000 landscape, but EXIF orientation 6 says "rotate 90° clockwise to view".
    data = two_colour_photo(size=(2000, 1000), exif=camera_exif(orientation=6, gps=(42.9, 71.37),
                                                                taken="2026:05:14 10:30:00"))
    photo = upload(client, volunteer, inspection["id"], data)
    response = client.get(f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview?size={size}",
                          headers=volunteer.headers)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    preview = response.data
    for marker in METADATA_MARKERS:
        assert marker not in preview, marker
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "JPEG"
        assert image.size == (size // 2, size)  # portrait: upright
        assert not image.getexif() and not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
        # Rotated clockwise, the left (red) half of the stored pixels is now on top.
        top, bottom = image.getpixel((image.width // 2, 5)), image.getpixel((image.width // 2, image.height - 5))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    etag = response.headers["ETag"]
    assert client.get(f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview?size={size}",
                      headers={**volunteer.headers, "If-None-Match": etag}).status_code == 304


def test_a_transparent_png_gets_a_white_preview_background(client, volunteer, inspection, photo_store):
    buffer = io.BytesIO()
    Image.new("RGBA", (100, 50), (0, 0, 0, 0)).save(buffer, format="PNG")
    photo = upload(client, volunteer, inspection["id"], buffer.getvalue())
    preview = client.get(f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview", headers=volunteer.headers)
    with Image.open(io.BytesIO(preview.data)) as image:
        assert image.size == (100, 50) and min(image.getpixel((50, 25))) > 240


def test_only_320_and_1280_previews_exist(client, volunteer, inspection, photo_store):
    photo = upload(client, volunteer, inspection["id"], image_bytes())
    response = client.get(f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview?size=4000",
                          headers=volunteer.headers)
    assert response.status_code == 422 and "size" in response.get_json()["errors"]


def test_the_job_makes_the_previews_once_and_requests_then_never_decode_the_original(
        app, client, volunteer, inspection, photo_store, monkeypatch, run_jobs):
    from volunteer_api.inspections import photos, services

    data = two_colour_photo()
    photo = upload(client, volunteer, inspection["id"], data)
    run_jobs()
    with app.app_context():
        services.make_previews(sha256=photo["sha256"])  # whether or not a worker with this store ran it first
        assert services.make_previews(sha256=photo["sha256"]) == 0  # made once
    assert sorted(key.split(".", 1)[1] for key in stored_keys(photo_store) if key.endswith(".jpg")) == \
        ["preview-1280.jpg", "preview-320.jpg"]

    def no_decoding(*args, **kwargs):
        raise AssertionError("the original was decoded on the request path")

    monkeypatch.setattr(photos, "render_preview", no_decoding)
    for size in (320, 1280):
        response = client.get(f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview?size={size}",
                              headers=volunteer.headers)
        assert response.status_code == 200


def test_a_preview_asked_for_before_the_job_ran_is_made_on_demand_once_even_by_concurrent_requests(
        app, client, volunteer, inspection, photo_store, monkeypatch, run_jobs):
    from volunteer_api.inspections import photos

    photo = upload(client, volunteer, inspection["id"], two_colour_photo())
    run_jobs()
    for made in stored_keys(photo_store):
        if ".preview-" in made:
            remove_stored(photo_store, made)  # as if the job had not run yet
    url = f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}/preview?size=320"
    def fetch():
        response = app.test_client().get(url, headers=volunteer.headers)
        return response.status_code, response.data

    answers = concurrently(8, fetch)
    assert [status for status, _ in answers] == [200] * 8 and len({body for _, body in answers}) == 1
    original = f"{photo['sha256'][:2]}/{photo['sha256']}"
    assert stored_keys(photo_store) == [original, f"{original}.preview-320.jpg"]  # no temp file left

    calls = []
    real = photos.render_preview
    monkeypatch.setattr(photos, "render_preview", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert app.test_client().get(url, headers=volunteer.headers).status_code == 200
    assert calls == []  # stored: never made twice


def test_photos_are_404_for_another_volunteer_and_another_districts_inspector(
        client, volunteer, make_volunteer, make_inspector, admin, inspection, photo_store):
    photo = upload(client, volunteer, inspection["id"], image_bytes())
    base = f"{INSPECTIONS}/{inspection['id']}/photos"
    urls = [base, f"{base}/{photo['id']}", f"{base}/{photo['id']}/preview?size=320"]
    for outsider in (make_volunteer(), make_inspector(["merke"])):
        for url in urls:
            response = client.get(url, headers=outsider.headers)
            assert response.status_code == 404 and response.content_type == "application/problem+json", url
    for reader in (make_inspector(["taraz"]), admin):
        assert [client.get(url, headers=reader.headers).status_code for url in urls] == [200, 200, 200]
    # A photo id of another inspection does not resolve through this one.
    other = file_inspection(client, volunteer, inspection["site_id"])
    assert client.get(f"{INSPECTIONS}/{other['id']}/photos/{photo['id']}", headers=volunteer.headers).status_code == 404


def test_a_refused_upload_never_reaches_a_worker(app, client, volunteer, inspection, photo_store, monkeypatch):
    from sqlalchemy import func, select

    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob

    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 1000)
    bomb = image_bytes("PNG", size=(100, 100))
    whole = image_bytes("JPEG", size=(30, 30))
    broken = whole[: len(whole) // 2]
    for data, status in ((bomb, 413), (broken, 422)):
        response = client.post(f"{INSPECTIONS}/{inspection['id']}/photos", headers=volunteer.headers,
                               data={"file": (io.BytesIO(data), "p.jpg")}, content_type="multipart/form-data")
        assert response.status_code == status
    with app.app_context():
        jobs = db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "photos.make_previews"))
    assert jobs == 0


def test_an_unsatisfiable_range_is_416_and_closes_the_opened_original(client, volunteer, inspection, photo_store,
                                                                      monkeypatch):
    """The original is opened before the range is weighed: a 416 must close it (on S3, its pooled connection)."""
    data = two_colour_photo()
    photo = upload(client, volunteer, inspection["id"], data)
    opened = []
    real_open = type(photo_store).open
    requests_thread = threading.get_ident()  # not the job thread that may be making the previews meanwhile

    def open_and_remember(store, key):
        stored = real_open(store, key)
        if threading.get_ident() == requests_thread:
            opened.append(stored.file)
        return stored

    monkeypatch.setattr(type(photo_store), "open", open_and_remember)
    url = f"{INSPECTIONS}/{inspection['id']}/photos/{photo['id']}"
    refused = client.get(url, headers={**volunteer.headers, "Range": f"bytes={len(data) + 10}-"})
    assert refused.status_code == 416
    assert len(opened) == 1 and opened[0].closed
    # A satisfiable range still streams from the same kind of file, closed once the body is read.
    part = client.get(url, headers={**volunteer.headers, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == data[10:20]
    part.close()
    assert len(opened) == 2 and opened[1].closed
