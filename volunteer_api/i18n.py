"""The languages of the system (Russian first: the default) and the choice of one for a request."""
import re

from flask import g, has_request_context, request
from flask_babel import LazyString, gettext

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"


def select_language() -> str:
    """A page's chosen language (the console's switch sets g.page_language), else the caller's from
    Accept-Language, else Russian (Flask-Babel's locale selector).

    Outside a request (a worker, a command) there is no caller: Russian, unless the code forces another.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return g.get("page_language") or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it here (babel extracts N_ by default)."""
    return message


# The messages marshmallow and webargs write into `errors` themselves, as they write them. The problem
# renderer translates them (translate_messages); a placeholder matches whatever the library put there.
LIBRARY_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Unknown field."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Invalid value."),
    N_("Invalid input."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid mapping type."),
    N_("Not a valid UUID."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("String does not match expected pattern."),
    N_("Shorter than minimum length {min}."),
    N_("Longer than maximum length {max}."),
    N_("Length must be between {min} and {max}."),
    N_("Length must be {equal}."),
    N_("Must be one of: {choices}."),
    N_("Must be equal to {other}."),
    N_("Must be greater than or equal to {min}."),
    N_("Must be greater than {min}."),
    N_("Must be less than or equal to {max}."),
    N_("Must be less than {max}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than {min} and less than {max}."),
    N_("Must be greater than or equal to {min} and less than {max}."),
    N_("Must be greater than {min} and less than or equal to {max}."),
)


def _pattern(template: str) -> "re.Pattern[str]":
    parts = re.split(r"\{(\w+)\}", template)  # text, name, text, name, ..., text
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


# Longest first: "Must be greater than {min}." would also match "Must be greater than or equal to 5."
_TEMPLATES = [(template, _pattern(template))
              for template in sorted(LIBRARY_MESSAGES, key=len, reverse=True) if "{" in template]
_PLAIN = frozenset(template for template in LIBRARY_MESSAGES if "{" not in template)


def translate_message(message: str) -> str:
    """A library's field message in the request's language; any other text as it is (ours are translated
    where they are raised)."""
    if message in _PLAIN:
        return gettext(message)
    for template, pattern in _TEMPLATES:
        match = pattern.match(message)
        if match:
            return gettext(template).format(**match.groupdict())
    return message


def translate_messages(errors):
    """The `errors` of a problem document with every library message translated (dicts and lists kept)."""
    if isinstance(errors, dict):
        return {key: translate_messages(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [translate_messages(value) for value in errors]
    return translate_message(str(errors))


def lazy_messages(errors):
    """`errors` (a field's messages, nested as marshmallow nests them) with every text translated when it is
    shown, in the language of whoever reads it: a library's English messages too. What is already lazy
    (our own `_l(...)`) stays as it is."""
    if isinstance(errors, dict):
        return {key: lazy_messages(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [lazy_messages(value) for value in errors]
    if isinstance(errors, str):
        return LazyString(translate_message, errors)
    return errors
