"""The volunteers' app tests run on a phone: 360 px wide, its position 40 m from the site, the permission to
read it granted, and room for a loaded machine."""
import pytest

from tests.browser.app.support import NEAR_SITE


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: 360 px wide, its position 40 m from the site, the permission to read it granted."""
    return {**browser_context_args, "viewport": {"width": 360, "height": 780}, "geolocation": NEAR_SITE,
            "permissions": ["geolocation"]}


@pytest.fixture
def context(context):
    """The recording context, with room for a loaded machine: the app re-renders a screen when the server's
    news arrive, and a click may have to wait for the screen it aims at to settle."""
    context.set_default_timeout(20_000)
    return context
