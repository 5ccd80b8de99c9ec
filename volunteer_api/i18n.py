"""The languages of the system (Russian first: the default) and the choice of one for a request."""
from flask import has_request_context, request

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"


def select_language() -> str:
    """The caller's language from Accept-Language, else Russian (Flask-Babel's locale selector).

    Outside a request (a worker, a command) there is no caller: Russian, unless the code forces another.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
