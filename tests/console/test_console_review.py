"""The inspectors' screens through Flask's test client: the queue, an inspection, a saving, the inbox."""
import json
import re
import uuid
from html import unescape

from tests.console.conftest import page_text
from tests.field_support import FIVE_KM_NORTH, create_site, file_inspection


def flagged(client, volunteer, site_id, **kwargs) -> dict:
    return file_inspection(client, volunteer, site_id, at=FIVE_KM_NORTH, **kwargs)


def file_saving(client, volunteer, site_id, amount="1250000.50") -> dict:
    response = client.post("/api/v1/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site_id, "amount_kzt": amount,
        "category": "overpricing_prevented", "description": "Cement priced at twice the market."})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_queue_lists_the_districts_flagged_inspections_oldest_first(client, console, admin, make_inspector,
                                                                        make_volunteer):
    site = create_site(client, admin, name="Школа № 7")
    far = create_site(client, admin, name="Больница Мерке", district="merke")
    volunteer = make_volunteer("taraz")
    first = flagged(client, volunteer, site["id"])
    second = flagged(client, volunteer, site["id"], severity="critical")
    file_inspection(client, volunteer, site["id"])  # on site, not flagged: not in the queue
    flagged(client, make_volunteer("merke"), far["id"])  # another district
    inspector = make_inspector(["taraz"])  # added after the inspections were filed
    html = page_text(console(inspector).get("/console/"))
    assert "Школа № 7" in html and "Больница Мерке" not in html
    assert html.index(f"№ {first['id']}<") < html.index(f"№ {second['id']}<")
    assert "Флагов: " not in html and "<strong>2</strong>" in html
    assert "Вне объекта" in html


def test_queue_filters_live_in_the_url_and_narrow_the_count(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    flagged(client, volunteer, site["id"])
    severe = flagged(client, volunteer, site["id"], severity="critical")
    html = page_text(console(inspector).get("/console/?severity=critical"))
    assert f"№ {severe['id']}<" in html and html.count("data-href=") == 1
    assert 'value="critical" selected' in html
    assert "<strong>1</strong>" in html


def test_the_queue_pages_by_keyset(client, console, admin, inspector, volunteer, monkeypatch):
    from volunteer_api.console import review_pages

    monkeypatch.setattr(review_pages, "PAGE_SIZE", 2)
    site = create_site(client, admin)
    ids = [flagged(client, volunteer, site["id"])["id"] for _ in range(3)]
    browser = console(inspector)
    html = page_text(browser.get("/console/"))
    assert f"№ {ids[2]}<" not in html and "cursor=" in html
    cursor = html.split("cursor=")[1].split('"')[0]
    assert f"№ {ids[2]}<" in page_text(browser.get(f"/console/?cursor={cursor}"))


def test_an_inspection_shows_site_volunteer_checklist_and_map(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"], severity="high", notes="Трещины в фундаменте")
    html = page_text(console(inspector).get(f"/console/inspections/{item['id']}"))
    assert "1\u00a0250\u00a0000\u00a0000,55\u00a0₸" in html  # the budget, as Russian writes it
    assert "Kurylys LLP" in html and "Трещины в фундаменте" in html
    assert volunteer.login in html  # the volunteer's phone
    assert 'data-map=' in html and "&#34;radius&#34;: 300" in html.replace('"', "&#34;")
    assert "Высокая" in html


def test_confirming_moves_on_to_the_next_inspection(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    first, second = flagged(client, volunteer, site["id"]), flagged(client, volunteer, site["id"])
    browser = console(inspector)
    browser.get(f"/console/inspections/{first['id']}")
    response = browser.post(f"/console/inspections/{first['id']}/review", {"decision": "confirmed", "comment": "Видно."})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/console/inspections/{second['id']}")
    assert client.get(f"/api/v1/inspections/{first['id']}", headers=inspector.headers).get_json()["status"] == "confirmed"


def test_a_decision_without_a_comment_changes_nothing(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    browser = console(inspector)
    browser.get(f"/console/inspections/{item['id']}")
    response = browser.post(f"/console/inspections/{item['id']}/review", {"decision": "dismissed", "comment": " "})
    assert response.status_code == 422 and "Напишите комментарий" in page_text(response)
    assert client.get(f"/api/v1/inspections/{item['id']}", headers=inspector.headers).get_json()["status"] == "submitted"


def test_a_second_decision_is_told_as_a_conflict(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    browser = console(inspector)
    browser.get(f"/console/inspections/{item['id']}")
    browser.post(f"/console/inspections/{item['id']}/review", {"decision": "confirmed", "comment": "Да."})
    browser.get(f"/console/inspections/{item['id']}")
    response = browser.post(f"/console/inspections/{item['id']}/review", {"decision": "dismissed", "comment": "Нет."})
    assert response.status_code == 409


def test_another_districts_inspection_is_not_found(client, console, admin, make_inspector, volunteer):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    browser = console(make_inspector(["merke"]))
    assert browser.get(f"/console/inspections/{item['id']}").status_code == 404


def test_a_saving_shows_the_budget_and_what_was_approved_before_and_is_approved(client, console, admin, inspector,
                                                                               volunteer, run_jobs):
    site = create_site(client, admin)
    earlier = file_saving(client, volunteer, site["id"], amount="100.00")
    client.post(f"/api/v1/savings/{earlier['id']}/review", headers=admin.headers,
                json={"decision": "approved", "comment": "ok"})
    run_jobs()
    report = file_saving(client, volunteer, site["id"])
    browser = console(inspector)
    html = page_text(browser.get(f"/console/savings/{report['id']}"))
    assert "1\u00a0250\u00a0000,50\u00a0₸" in html and "100,00\u00a0₸" in html
    response = browser.post(f"/console/savings/{report['id']}/review", {"decision": "approved", "comment": "Проверено."})
    assert response.status_code == 303
    assert client.get(f"/api/v1/savings/{report['id']}", headers=inspector.headers).get_json()["status"] == "approved"


def test_the_inbox_counts_unread_marks_read_and_opens_the_subject(client, console, admin, inspector, volunteer,
                                                                   run_jobs):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    run_jobs()
    browser = console(inspector)
    assert ">1<" in page_text(browser.get("/console/inbox/unread-count"))
    html = page_text(browser.get("/console/inbox"))
    alert_id = html.split('id="alert-')[1].split('"')[0]
    response = browser.post(f"/console/inbox/{alert_id}/read", {"open": "1"})
    assert response.headers["Location"] == f"/console/inspections/{item['id']}"
    assert "badge" not in page_text(browser.get("/console/inbox/unread-count"))


def test_polling_the_unread_count_does_not_keep_a_session_alive(app, console, inspector):
    browser = console(inspector)
    with browser.client.session_transaction(path="/console/") as session:
        seen = session["seen"]
    browser.get("/console/inbox/unread-count")
    with browser.client.session_transaction(path="/console/") as session:
        assert session["seen"] == seen


def test_a_configured_tile_server_is_the_only_other_origin_the_page_may_load_images_from(app, client, console, admin,
                                                                                          inspector, volunteer,
                                                                                          monkeypatch):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    monkeypatch.setitem(app.config, "MAP_TILES_URL", "https://tiles.example.kz/{z}/{x}/{y}.png")
    response = console(inspector).get(f"/console/inspections/{item['id']}")
    assert "img-src 'self' data: blob: https://tiles.example.kz;" in response.headers["Content-Security-Policy"]
    assert "tiles.example.kz/{z}/{x}/{y}.png" in page_text(response)


def test_without_a_tile_server_the_map_gets_the_district_centres(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    item = flagged(client, volunteer, site["id"])
    html = page_text(console(inspector).get(f"/console/inspections/{item['id']}"))
    data = json.loads(unescape(re.search(r"data-map='([^']*)'", html).group(1)))
    assert data["tiles"] is None
    assert {"name": "Меркенский район", "lat": 42.87, "lon": 73.18} in data["districts"]
    assert data["point"]["accuracy"] == 10.0 and data["site"]["radius"] == 300


def test_an_inspection_links_its_neighbours_in_the_queue(client, console, admin, inspector, volunteer):
    site = create_site(client, admin)
    first, middle, last = (flagged(client, volunteer, site["id"]) for _ in range(3))
    html = page_text(console(inspector).get(f"/console/inspections/{middle['id']}"))
    assert f'/console/inspections/{first["id"]}" rel="prev" data-key="k"' in html
    assert f'/console/inspections/{last["id"]}" rel="next" data-key="j"' in html
