"""The languages of the system (Russian first: the default) and the choice of one for a request."""
from flask import request

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"


def select_language() -> str:
    """The caller's language from Accept-Language, else Russian (Flask-Babel's locale selector)."""
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
