"""Every message a user can see exists in Russian and Kazakh."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "volunteer_api" / "translations"


def source_messages() -> set[str]:
    """Every message of the code and of the pages' templates (singular forms; a plural's first form)."""
    found = extract_from_dir(str(ROOT / "volunteer_api"),
                             method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
                             keywords={"_l": None, "lazy_gettext": None, "gettext": None, "_": None,
                                       "ngettext": (1, 2)})
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_the_templates_are_searched_for_messages():
    assert "Sign in to the console" in source_messages()


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_message_in_the_code_is_translated(language):
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = {(m.id if isinstance(m.id, str) else m.id[0]): (m.string if isinstance(m.string, str) else all(m.string))
                   for m in read_po(handle, locale=language) if m.id}
    missing = sorted(m for m in source_messages() if not catalog.get(m))
    assert missing == [], f"run scripts/translations.py update and translate: {missing}"


def test_problem_details_follow_the_language(client):
    body = {"login": "+77019999999", "password": "not the password"}
    details = {lang: client.post("/api/v1/auth/login", json=body, headers={"Accept-Language": lang}).get_json()["detail"]
               for lang in ("ru", "kk", "en")}
    assert details == {"ru": "Неверный логин или пароль.", "kk": "Логин немесе құпиясөз қате.", "en": "Wrong login or password."}
