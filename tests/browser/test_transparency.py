"""The public /transparency page in Chromium, in Russian and Kazakh: no sign-in, the charts drawn, styled under
its own CSP, no other host, no serious accessibility violation, nobody named, and cached (ETag, 304)."""
import pytest
from playwright.sync_api import expect

from tests.test_open_data import monitored, personal_data  # noqa: F401 - the data fixture

WORDS = {"ru": "Доля устранённых нарушений", "kk": "Жойылған бұзушылықтар үлесі"}


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("width", [360, 1280])
def test_the_transparency_page_shows_its_charts_to_anyone(page, app, monitored, monkeypatch, axe_check,  # noqa: F811
                                                          request_log, language, width):
    from volunteer_api.open_data import summary

    monkeypatch.setattr(summary, "_cache", {})  # an earlier test's summary may sit in the process's cache
    monkeypatch.setitem(app.config, "PUBLIC_CACHE_SECONDS", 60)
    page.set_viewport_size({"width": width, "height": 900})
    refused = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)

    response = page.goto(f"/transparency?lang={language}")  # a fresh browser: no token, no cookie

    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(WORDS[language]).first).to_be_visible()
    charts = page.get_by_role("img")
    expect(charts).to_have_count(2)
    for index in range(2):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 250 and box["height"] > 30 and box["x"] + box["width"] <= width, box
        widths = chart.locator("rect.bar").evaluate_all("bars => bars.map(bar => bar.getBoundingClientRect().width)")
        assert len(widths) == 11 and max(widths) > 100  # a bar per district; Taraz's savings and fix are drawn
    # The stylesheet arrived and applied (the CSP allows no inline style): the figures are a grid.
    assert page.locator(".figures").evaluate("node => getComputedStyle(node).display") == "grid"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # nothing runs off a phone
    axe_check(page)
    assert refused == []  # no CSP refusal, no failed file
    assert request_log.foreign() == []
    html = page.content()
    for value in personal_data(app):
        assert value not in html

    etag, cache_control = response.headers["etag"], response.headers["cache-control"]
    assert cache_control == "public, max-age=60"
    again = page.request.get(f"/transparency?lang={language}", headers={"If-None-Match": etag})
    assert again.status == 304
