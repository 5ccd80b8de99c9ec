"""An inspection's photos, its return to the volunteer and its case, through Flask's test client."""
import io
import re
from html import unescape

from PIL import Image

from tests.console.conftest import page_text
from tests.field_support import FIVE_KM_NORTH, TARAZ, create_site, file_inspection, image_bytes
from tests.test_photo_reading import camera_exif


def attach(client, volunteer, inspection_id, data: bytes) -> dict:
    response = client.post(f"/api/v1/inspections/{inspection_id}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def flagged_with_photo(client, admin, volunteer, *, exif=None):
    site = create_site(client, admin, name="Школа № 7")
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    photo = attach(client, volunteer, inspection["id"], image_bytes(size=(1600, 1200), exif=exif))
    return inspection, photo


def test_the_inspection_shows_its_photos_with_previews_the_original_and_what_the_camera_says(
        client, console, admin, inspector, volunteer):
    # The camera put the photo at the site (5 km from the reported point) and two days before it.
    exif = camera_exif(taken="2026:01:01 10:00:00", offset="+05:00", gps=TARAZ)
    inspection, photo = flagged_with_photo(client, admin, volunteer, exif=exif)
    browser = console(inspector)
    html = unescape(page_text(browser.get(f"/console/inspections/{inspection['id']}")))
    base = f"/console/inspections/{inspection['id']}/photos/{photo['id']}"
    assert f'src="{base}/preview/320"' in html and f'data-lightbox="{base}/preview/1280"' in html
    assert f'href="{base}"' in html
    distance = re.search(r"EXIF-координаты в (\d+) м от указанной точки \((\d+) м от объекта\)", html)
    assert distance and 4900 < int(distance.group(1)) < 5100 and int(distance.group(2)) < 5
    assert "Время камеры отличается от указанного больше чем на сутки." in html
    assert re.search(r"снято 1 янв\. 2026, 10:00; указано \d+", html)
    preview = browser.get(f"{base}/preview/320")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(preview.data)).size) == 320
    assert preview.headers["Cache-Control"] == "private, max-age=86400"
    assert browser.get(f"{base}/preview/1280", headers={"If-None-Match": preview.headers["ETag"]}).status_code == 200
    original = browser.get(base)
    api = client.get(f"/api/v1/inspections/{inspection['id']}/photos/{photo['id']}", headers=admin.headers)
    assert original.status_code == 200 and original.data == api.data  # byte for byte
    assert browser.get(f"{base}/preview/640").status_code == 404


def test_a_photo_without_exif_says_so_and_others_districts_photos_are_not_served(
        client, console, admin, make_inspector, volunteer):
    inspection, photo = flagged_with_photo(client, admin, volunteer)
    html = page_text(console(make_inspector(["taraz"])).get(f"/console/inspections/{inspection['id']}"))
    assert "нет координат EXIF" in html and "нет времени съёмки в EXIF" in html
    stranger = console(make_inspector(["merke"]))
    base = f"/console/inspections/{inspection['id']}/photos/{photo['id']}"
    assert stranger.get(base).status_code == 404 and stranger.get(f"{base}/preview/320").status_code == 404
    assert console(None).get(base).status_code == 302  # to the sign-in page


def test_returning_an_inspection_needs_a_comment_and_sends_it_back_to_the_volunteer(
        client, console, inspector, admin, volunteer):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    browser = console(inspector)
    html = page_text(browser.get(f"/console/inspections/{inspection['id']}"))
    assert 'value="returned" data-key="r"' in html and "Вернуть эту проверку волонтёру?" in html
    url = f"/console/inspections/{inspection['id']}/review"
    assert browser.post(url, {"decision": "returned", "comment": " "}).status_code == 422
    response = browser.post(url, {"decision": "returned", "comment": "Нужно фото фасада."})
    assert response.status_code == 303
    answer = client.get(f"/api/v1/inspections/{inspection['id']}", headers=volunteer.headers).get_json()
    assert answer["status"] == "returned"
    html = page_text(browser.get(f"/console/inspections/{inspection['id']}"))
    assert "Возвращена волонтёру" in html and "Нужно фото фасада." in html
    history = html[html.index('class="history"'):]
    assert "— Подана" in history and "— Возвращена волонтёру" in history and "— filed" not in history
    again = browser.post(url, {"decision": "confirmed", "comment": "Да."})
    assert again.status_code == 409 and "её можно будет рассмотреть после повторной отправки" in page_text(again)


def test_a_confirmed_inspections_case_is_referred_and_resolved_once_each(client, console, inspector, admin,
                                                                           volunteer):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    browser = console(inspector)
    browser.post(f"/console/inspections/{inspection['id']}/review", {"decision": "confirmed", "comment": "Да."})
    page = f"/console/inspections/{inspection['id']}"
    html = page_text(browser.get(page))
    assert 'action="' + page + '/referral"' in html and 'action="' + page + '/resolution"' in html
    refused = browser.post(f"{page}/referral", {"channel": "eotinish", "case_number": "", "referred_at": "2026-13-01T10:00"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in page_text(refused)
    when = re.search(r'name="referred_at" type="datetime-local" value="([^"]+)"', html).group(1)
    response = browser.post(f"{page}/referral", {"channel": "eotinish", "case_number": "ЖТ-2026-0042", "referred_at": when})
    assert response.status_code == 303
    html = page_text(browser.get(response.headers["Location"]))
    assert "Портал eOtinish" in html and "ЖТ-2026-0042" in html and f'{page}/referral"' not in html
    twice = browser.post(f"{page}/referral", {"channel": "prosecutor", "case_number": "1", "referred_at": when})
    assert twice.status_code == 409 and "Это дело уже передано." in page_text(twice)
    response = browser.post(f"{page}/resolution", {"outcome": "fixed", "comment": "Каски выданы.", "resolved_at": when})
    assert response.status_code == 303
    case = client.get(f"/api/v1/inspections/{inspection['id']}", headers=inspector.headers).get_json()["case"]
    assert case["referral"]["case_number"] == "ЖТ-2026-0042" and case["resolution"]["outcome"] == "fixed"
    twice = browser.post(f"{page}/resolution", {"outcome": "fixed", "comment": "Ещё раз.", "resolved_at": when})
    assert twice.status_code == 409 and "По этому делу уже есть решение." in page_text(twice)


def test_an_unconfirmed_inspection_has_no_case_forms_and_its_case_post_is_a_clear_409(client, console, inspector,
                                                                                       admin, volunteer):
    site = create_site(client, admin)
    inspection = file_inspection(client, volunteer, site["id"], at=FIVE_KM_NORTH)
    browser = console(inspector)
    page = f"/console/inspections/{inspection['id']}"
    assert "/referral" not in page_text(browser.get(page))
    refused = browser.post(f"{page}/resolution", {"outcome": "fixed", "comment": "x", "resolved_at": "2026-12-01T10:00"})
    assert refused.status_code == 409 and "Делом становится только подтверждённая инспекция." in page_text(refused)
