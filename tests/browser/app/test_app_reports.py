"""The volunteer's reports in the app: the review loop (flagged, returned with the inspector's comment, more
photos, resubmitted, confirmed), a savings report filed offline, the position warnings and photo shrinking."""
import hashlib
import io

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.app.support import (
    SEND_TIMEOUT_MS,
    file_inspection,
    jpeg,
    open_tab,
    server_counts,
    sign_in,
)
from tests.field_support import create_site
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection, Photo

COMMENT = "Нет фото фасада: сфотографируйте вход и табличку объекта."


def my_only_inspection(app, volunteer) -> Inspection:
    with app.app_context():
        inspection = db.session.scalars(select(Inspection).where(Inspection.volunteer_id == int(volunteer.id))).one()
        db.session.expunge(inspection)
        db.session.rollback()
    return inspection


def review(client, inspector, inspection_id, decision: str, comment: str) -> None:
    response = client.post(f"/api/v1/inspections/{inspection_id}/review", headers=inspector.headers,
                           json={"decision": decision, "comment": comment})
    assert response.status_code == 200, response.get_json()


def test_a_returned_inspection_shows_the_comment_takes_another_photo_and_is_resubmitted_once(
        app, client, admin, inspector, volunteer, page, axe_check):
    create_site(client, admin)
    sign_in(page, volunteer)
    file_inspection(page, severity="high")
    filed = page.locator("#outbox-list li").first
    expect(filed).to_have_attribute("data-state", "flagged", timeout=SEND_TIMEOUT_MS)
    inspection_id = str(my_only_inspection(app, volunteer).id)

    review(client, inspector, inspection_id, "returned", COMMENT)
    open_tab(page, "mine")  # opening my reports asks the server for news
    returned = page.locator(f"#mine-list li[data-id='{inspection_id}']")
    expect(returned).to_have_attribute("data-state", "returned", timeout=SEND_TIMEOUT_MS)
    expect(returned.locator(".comment")).to_contain_text(COMMENT)
    axe_check(page)
    open_tab(page, "outbox")
    expect(page.locator("#outbox-list li").first).to_have_attribute("data-state", "returned")

    open_tab(page, "mine")
    returned.locator("a.primary").click()
    expect(page.locator("main .comment")).to_contain_text(COMMENT)
    axe_check(page)
    page.set_input_files("#photos", files=[jpeg((20, 120, 220))])
    expect(page.locator("#photos-count")).to_contain_text("1")
    page.fill("#reply", "Добавила фото входа.")
    page.locator("#resubmit-form button[type=submit]").click()
    resubmission = page.locator("#outbox-list li").first
    expect(resubmission).to_have_attribute("data-state", "flagged", timeout=SEND_TIMEOUT_MS)
    expect(resubmission).to_contain_text("1")  # photos: 1 of 1

    inspection = my_only_inspection(app, volunteer)
    assert (inspection.status, inspection.resubmissions) == ("submitted", 1)
    assert server_counts(app, volunteer) == (1, 2)

    review(client, inspector, inspection_id, "confirmed", "Подтверждено.")
    open_tab(page, "mine")
    expect(page.locator(f"#mine-list li[data-id='{inspection_id}']")).to_have_attribute(
        "data-state", "confirmed", timeout=SEND_TIMEOUT_MS)
    open_tab(page, "outbox")
    expect(page.locator("#outbox-list li[data-state=confirmed]")).to_have_count(2)
    axe_check(page)
    assert server_counts(app, volunteer) == (1, 2)
    open_tab(page, "more")
    expect(page.locator("main h1")).to_have_text("Ещё")
    axe_check(page)


def test_a_savings_report_filed_offline_keeps_its_uuid_and_exact_amount_and_shows_its_status(
        app, client, admin, inspector, volunteer, context, page, axe_check):
    create_site(client, admin)
    sign_in(page, volunteer)
    context.set_offline(True)
    page.locator(".card .actions a:not(.primary)").first.click()  # the savings report
    page.fill("#amount", "12,345")
    page.fill("#description", "Смета снижена после проверки объёмов.")
    page.locator("#saving-form button[type=submit]").click()
    expect(page.locator("#saving-form .form-error")).to_contain_text("не больше двух знаков")
    expect(page.locator("#description")).to_have_value("Смета снижена после проверки объёмов.")  # nothing typed is lost
    axe_check(page)
    page.fill("#amount", "1 250 000,5")
    page.select_option("#category", "contract_reduced")
    page.locator("#saving-form button[type=submit]").click()
    waiting = page.locator("#outbox-list li").first
    expect(waiting).to_have_attribute("data-state", "waiting")
    expect(waiting.locator(".amount")).to_have_text("1\u00a0250\u00a0000,50\u00a0₸")
    client_uuid = waiting.get_attribute("data-uuid")

    context.set_offline(False)
    expect(waiting).to_have_attribute("data-state", "pending", timeout=SEND_TIMEOUT_MS)  # sent: the server's state
    saved = client.get("/api/v1/savings", headers=volunteer.headers).get_json()["items"]
    assert [(s["client_uuid"], s["amount_kzt"], s["category"], s["status"]) for s in saved] == [
        (client_uuid, "1250000.50", "contract_reduced", "pending")]

    open_tab(page, "mine")
    mine = page.locator(f"#mine-list li[data-id='{saved[0]['id']}']")
    expect(mine).to_have_attribute("data-state", "pending", timeout=SEND_TIMEOUT_MS)
    expect(mine).to_contain_text("на проверке")
    response = client.post(f"/api/v1/savings/{saved[0]['id']}/review", headers=inspector.headers,
                           json={"decision": "approved", "comment": "Подтверждено актом."})
    assert response.status_code == 200, response.get_json()
    open_tab(page, "sites")
    open_tab(page, "mine")
    expect(mine).to_have_attribute("data-state", "approved", timeout=SEND_TIMEOUT_MS)
    expect(mine).to_contain_text("одобрено")
    axe_check(page)


def test_a_poor_or_distant_position_is_warned_about_before_sending(client, admin, volunteer, context, page, axe_check):
    create_site(client, admin)
    sign_in(page, volunteer)
    context.set_geolocation({"latitude": 42.9451, "longitude": 71.3667, "accuracy": 450})  # ~5 km north, ±450 m
    page.locator(".card .actions a.primary").first.click()
    warnings = page.locator("#position-warnings .alert")
    expect(warnings).to_have_count(2)
    expect(warnings.nth(0)).to_contain_text("Низкая точность (±450 м)")
    expect(warnings.nth(1)).to_contain_text("Вы вне объекта: 5,0 км при радиусе 300 м")
    expect(page.locator("#inspection-form button[type=submit]")).to_be_enabled()  # a warning, not a refusal
    axe_check(page)

    context.set_geolocation({"latitude": 42.90046, "longitude": 71.36685, "accuracy": 12})
    page.locator("#position-block button").click()
    expect(page.locator("#position-line")).to_contain_text("±12 м")
    expect(warnings).to_have_count(0)


def camera_photo() -> dict:
    """A photo larger than the app's shrink size (2048 px): 2200 × 1650, about a megabyte as JPEG."""
    gradient = Image.linear_gradient("L").resize((2200, 1650))
    image = Image.merge("RGB", (gradient, Image.effect_noise((2200, 1650), 12),
                                gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def test_photos_go_as_taken_unless_the_volunteer_ticks_shrink(app, client, admin, volunteer, page):
    create_site(client, admin)
    sign_in(page, volunteer)
    original = camera_photo()
    file_inspection(page, photo=original)
    expect(page.locator("#outbox-list li").first).to_have_attribute("data-state", "submitted", timeout=SEND_TIMEOUT_MS)
    file_inspection(page, photo=original, resize=True)
    expect(page.locator("#outbox-list li[data-state=submitted]")).to_have_count(2, timeout=SEND_TIMEOUT_MS)

    with app.app_context():
        untouched, shrunk = db.session.execute(
            select(Photo.sha256, Photo.size_bytes, Photo.width, Photo.height).join(Inspection)
            .where(Inspection.volunteer_id == int(volunteer.id)).order_by(Photo.id)).all()
        db.session.rollback()
    assert untouched == (hashlib.sha256(original["buffer"]).hexdigest(), len(original["buffer"]), 2200, 1650)
    assert shrunk.size_bytes < len(original["buffer"]) and (shrunk.width, shrunk.height) == (2048, 1536)
