"""Phone numbers: normalized once, at the boundary, to E.164; masked whenever logged."""

import re

import phonenumbers

from notifications import conf
from notifications.exceptions import InvalidPhoneNumber

LETTERS = re.compile(r"[^\W\d_]")  # any letter, in any script


def normalize_phone_number(raw: str, *, region: str | None = None) -> str:
    """The E.164 form of `raw` (national numbers read in SMS_DEFAULT_REGION).

    Raises InvalidPhoneNumber for anything that is not a possible, valid number, so that
    such a number never reaches the provider.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("A phone number is required.")
    if LETTERS.search(text):
        # phonenumbers reads letters as keypad digits (1-800-FLOWERS); a recipient typed with
        # letters is a typo here, not a vanity number.
        raise InvalidPhoneNumber("A phone number has digits only.")
    try:
        parsed = phonenumbers.parse(text, region or conf.get("SMS_DEFAULT_REGION"))
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"This is not a phone number: {exc._msg}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("This phone number is not valid.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """The ISO country code of an E.164 number (e.g. "IN"), or None."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164))


def mask_phone_number(number: str) -> str:
    """`+919812345610` -> `+9198******10`: country and operator prefix, last two digits."""
    if not number:
        return ""
    keep_head = 5 if len(number) > 9 else 1
    hidden = max(len(number) - keep_head - 2, 0)
    return number[:keep_head] + "*" * hidden + number[keep_head + hidden :]


# E.164-looking numbers inside free text: a plus and 8 to 15 digits.
PHONE_PATTERN = re.compile(r"\+\d{8,15}")


def mask_phone_numbers_in(text: str) -> str:
    """`text` with every E.164-looking number masked: log lines, provider messages, payloads."""
    return PHONE_PATTERN.sub(lambda match: mask_phone_number(match.group()), text)
