"""Kazakh mobile numbers, normalised to +7XXXXXXXXXX (libphonenumber's metadata decides what is valid)."""
from flask_babel import lazy_gettext as _l
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType


def normalize_phone(raw: str) -> str:
    """"87011234567", "+7 701 123 45 67" → "+77011234567"; ValueError when not a Kazakh mobile."""
    text = raw.strip()
    if text.startswith("8") and len("".join(ch for ch in text if ch.isdigit())) == 11:
        text = "+7" + text[1:]  # The domestic trunk prefix: 8 701 ... is +7 701 ...
    try:
        number = phonenumbers.parse(text, "KZ")
    except NumberParseException as exc:
        raise ValueError(_l("Not a phone number.")) from exc
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "KZ"
        or phonenumbers.number_type(number) not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    ):
        raise ValueError(_l("Not a Kazakh mobile number (+7 7XX XXX XX XX)."))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
