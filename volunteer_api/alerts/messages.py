"""The alert texts in Russian, Kazakh and English, rendered from an alert's stored parameters.

An alert stores facts (site, district, reasons, amounts), never a sentence: the inbox renders it in the
reader's Accept-Language and an e-mail in the recipient's own language, long after it was created.
"""
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..money import format_tiyn

MESSAGES = {
    "inspection_flagged": {
        "ru": "Инспекция объекта «{site_name}» ({district}) отмечена: {reasons}.",
        "kk": "«{site_name}» нысанын ({district}) тексеру белгіленді: {reasons}.",
        "en": "An inspection of “{site_name}” ({district}) was flagged: {reasons}.",
    },
    "savings_pending": {
        "ru": "Отчёт об экономии {amount} ₸ по объекту «{site_name}» ({district}) ждёт проверки.",
        "kk": "«{site_name}» нысаны ({district}) бойынша {amount} ₸ үнемдеу туралы есеп тексеруді күтуде.",
        "en": "A savings report of {amount} KZT for “{site_name}” ({district}) awaits verification.",
    },
    "escalation": {
        "ru": "Отмеченная инспекция объекта «{site_name}» ({district}) не рассмотрена более {hours} ч.",
        "kk": "«{site_name}» нысанының ({district}) белгіленген тексеруі {hours} сағаттан астам қаралмады.",
        "en": "A flagged inspection of “{site_name}” ({district}) has not been reviewed for over {hours} hours.",
    },
    # An escalation of another subject names its own text in params["message"].
    "case_unresolved": {
        "ru": "Нарушение на объекте «{site_name}» ({district}) подтверждено {days} дн. назад и до сих пор не устранено.",
        "kk": "«{site_name}» нысанындағы ({district}) бұзушылық {days} күн бұрын расталды және әлі жойылмады.",
        "en": "A violation at “{site_name}” ({district}) was confirmed {days} days ago and is still unresolved.",
    },
    "milestone": {
        "ru": "Подтверждённая экономия бюджета достигла {amount} ₸.",
        "kk": "Расталған бюджет үнемі {amount} ₸ жетті.",
        "en": "Approved budget savings reached {amount} KZT.",
    },
}

SUBJECTS = {
    "inspection_flagged": {"ru": "Отмеченная инспекция", "kk": "Белгіленген тексеру", "en": "Flagged inspection"},
    "savings_pending": {"ru": "Отчёт об экономии ждёт проверки", "kk": "Үнемдеу есебі тексеруді күтуде",
                        "en": "Savings report awaits verification"},
    "escalation": {"ru": "Инспекция не рассмотрена", "kk": "Тексеру қаралмады", "en": "Inspection not reviewed"},
    "milestone": {"ru": "Рубеж экономии", "kk": "Үнемдеу межесі", "en": "Savings milestone"},
    "case_unresolved": {"ru": "Нарушение не устранено", "kk": "Бұзушылық жойылмады", "en": "Violation unresolved"},
}

FLAG_REASONS = {
    "off_site": {"ru": "вне объекта", "kk": "нысаннан тыс", "en": "off site"},
    "mock_location": {"ru": "поддельное местоположение", "kk": "жалған орналасу", "en": "mock location"},
    "severity": {"ru": "высокая серьёзность", "kk": "жоғары маңыздылық", "en": "high severity"},
    "safety_violations": {"ru": "нарушения техники безопасности", "kk": "қауіпсіздік ережелерін бұзу",
                          "en": "safety violations"},
    "quality_issues": {"ru": "проблемы качества", "kk": "сапа мәселелері", "en": "quality issues"},
}

OPEN_LINK = {"ru": "Открыть", "kk": "Ашу", "en": "Open"}
BRAND = {"ru": "Волонтёрский мониторинг", "kk": "Еріктілер мониторингі", "en": "Volunteer Monitor"}


class _Lenient(dict):
    """Leave a placeholder empty rather than fail when an older alert lacks a parameter."""

    def __missing__(self, key):
        return "—"


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def render_message(kind: str, params: dict, language: str, district_names: dict[str, dict[str, str]]) -> str:
    """The alert's text in `language`; district_names maps a code to its names by language."""
    language = language_of(language)
    district = params.get("district")
    values = _Lenient(params)
    values["district"] = district_names.get(district, {}).get(language, district or "—")
    values["reasons"] = ", ".join(FLAG_REASONS.get(r, {}).get(language, r) for r in params.get("flag_reasons", []))
    amount = params.get("amount_tiyn", params.get("threshold_tiyn"))
    if isinstance(amount, int):
        values["amount"] = format_tiyn(amount)
    template = MESSAGES.get(params.get("message", kind), {}).get(language) or kind
    return template.format_map(values)


def render_subject(kind: str, language: str, params: dict | None = None) -> str:
    language = language_of(language)
    kind = (params or {}).get("message", kind)
    # Not "Brand: subject": CPython's header folder drops the space after a colon between encoded words.
    return f"{SUBJECTS.get(kind, {}).get(language, kind)} — {BRAND[language]}"
