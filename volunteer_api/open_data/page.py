"""The words of the public /transparency page in Russian, Kazakh and English, and its server-drawn charts."""
from decimal import Decimal

from babel.numbers import format_decimal, format_percent

from ..i18n import LANGUAGES
from ..money import TIYN_PER_KZT

TEXTS = {
    "title": {"ru": "Прозрачность: общественный мониторинг строительства", "kk": "Ашықтық: құрылысты қоғамдық мониторинг",
              "en": "Transparency: public monitoring of construction"},
    "region": {"ru": "Жамбылская область", "kk": "Жамбыл облысы", "en": "Zhambyl region"},
    "intro": {"ru": "Волонтёры проверяют строительство школ, больниц и дорог за счёт бюджета. Здесь — что изменил их мониторинг.",
              "kk": "Еріктілер бюджет есебінен салынатын мектептердің, ауруханалардың және жолдардың құрылысын тексереді. Мұнда олардың мониторингі нені өзгерткені көрсетілген.",
              "en": "Volunteers check the construction of schools, hospitals and roads paid from the budget. This is what their monitoring changed."},
    "approved": {"ru": "Подтверждённая экономия бюджета", "kk": "Расталған бюджет үнемі", "en": "Approved budget savings"},
    "sites": {"ru": "Объектов под мониторингом", "kk": "Мониторингтегі нысандар", "en": "Sites monitored"},
    "inspections": {"ru": "Инспекций волонтёров", "kk": "Еріктілердің тексерулері", "en": "Volunteer inspections"},
    "fix_rate": {"ru": "Доля устранённых нарушений", "kk": "Жойылған бұзушылықтар үлесі", "en": "Share of violations fixed"},
    "fix_rate_of": {"ru": "устранено {fixed} из {confirmed} подтверждённых", "kk": "{confirmed} расталғанның {fixed} жойылды",
                    "en": "{fixed} fixed of {confirmed} confirmed"},
    "no_cases": {"ru": "подтверждённых нарушений пока нет", "kk": "расталған бұзушылықтар әзірге жоқ",
                 "en": "no confirmed violations yet"},
    "by_district": {"ru": "По районам", "kk": "Аудандар бойынша", "en": "By district"},
    "savings_chart": {"ru": "Подтверждённая экономия по районам, ₸", "kk": "Аудандар бойынша расталған үнем, ₸",
                      "en": "Approved savings by district, KZT"},
    "fix_chart": {"ru": "Доля устранённых нарушений по районам", "kk": "Аудандар бойынша жойылған бұзушылықтар үлесі",
                  "en": "Share of violations fixed by district"},
    "district": {"ru": "Район", "kk": "Аудан", "en": "District"},
    "confirmed": {"ru": "Подтверждено", "kk": "Расталды", "en": "Confirmed"},
    "fixed": {"ru": "Устранено", "kk": "Жойылды", "en": "Fixed"},
    "as_of": {"ru": "Данные на", "kk": "Деректер уақыты", "en": "Figures as of"},
    "not_yet": {"ru": "ещё не рассчитаны", "kk": "әлі есептелмеген", "en": "not computed yet"},
    "open_data": {"ru": "Открытые данные (OC4IDS)", "kk": "Ашық деректер (OC4IDS)", "en": "Open data (OC4IDS)"},
    "language": {"ru": "Язык", "kk": "Тіл", "en": "Language"},
}
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
# The charts' drawing units (the SVG scales to its column, about 1:1 on a phone): each district's name and
# value on one line, its bar under them across the whole width.
CHART_WIDTH = 360
BAR_WIDTH = CHART_WIDTH
ROW_HEIGHT = 40


def texts(language: str) -> dict[str, str]:
    language = language if language in LANGUAGES else "ru"
    return {key: value[language] for key, value in TEXTS.items()}


def tenge(tiyn: int, language: str) -> str:
    """Tiyn as tenge the way the language writes them: `1 250 000,50 ₸` (ru, kk), `1,250,000.50 ₸` (en)."""
    return f"{format_decimal(Decimal(tiyn) / TIYN_PER_KZT, format='#,##0.00', locale=language)}\u00a0₸"


def share(fix_rate: str | None, language: str) -> str:
    """The API's "0.50" as the language writes a share (`50 %`); a dash when there is no rate."""
    return "—" if fix_rate is None else format_percent(Decimal(fix_rate), locale=language)


def bars(values: list[tuple[str, float, str]]) -> list[dict]:
    """Horizontal bars for an SVG chart: (label, value, shown text) → width in drawing units of the largest's share."""
    largest = max((value for _, value, _ in values), default=0) or 1
    return [{"label": label, "width": round(BAR_WIDTH * value / largest, 1), "text": text, "y": index * ROW_HEIGHT}
            for index, (label, value, text) in enumerate(values)]
