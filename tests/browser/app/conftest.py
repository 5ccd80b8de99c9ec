"""The volunteers' app tests run on a phone: 360 px wide, its position 40 m from the site, the permission to
read it granted, and room for a loaded machine."""
import pytest
from playwright.sync_api import expect

from tests.browser.app.support import NEAR_SITE

PLAYWRIGHT_EXPECT_TIMEOUT_MS = 5_000  # Playwright's default, for the tests after these


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: 360 px wide, its position 40 m from the site, the permission to read it granted."""
    return {**browser_context_args, "viewport": {"width": 360, "height": 780}, "geolocation": NEAR_SITE,
            "permissions": ["geolocation"]}


@pytest.fixture
def context(context):
    """The recording context, with room for a loaded machine (the whole suite runs beside others on two cores:
    a sign-in's password hash alone can take seconds). The app re-renders a screen when the server's news
    arrive, so a click may also wait for the screen it aims at to settle."""
    context.set_default_timeout(20_000)
    expect.set_options(timeout=15_000)
    yield context
    expect.set_options(timeout=PLAYWRIGHT_EXPECT_TIMEOUT_MS)
