"""The languages of the system (Russian first: the default) and the choice of one for a request."""
from flask import g, request

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"


def select_language() -> str:
    """A page's chosen language (the console's switch sets g.page_language), else the caller's from
    Accept-Language, else Russian (Flask-Babel's locale selector)."""
    return g.get("page_language") or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
