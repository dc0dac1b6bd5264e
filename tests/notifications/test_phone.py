import pytest

from notifications.exceptions import InvalidPhoneNumber
from notifications.phone import mask_phone_number, normalize_phone_number, region_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+91 98123 45610", "+919812345610"),
        ("098123 45610", "+919812345610"),  # national format, SMS_DEFAULT_REGION=IN
        ("9812345610", "+919812345610"),
        ("+1 (201) 555-0123", "+12015550123"),
        ("  +44 7911 123456 ", "+447911123456"),
    ],
)
def test_it_normalizes_numbers_to_e164(raw, expected, settings):
    settings.SMS_DEFAULT_REGION = "IN"
    assert normalize_phone_number(raw) == expected


def test_national_numbers_are_read_in_the_default_region(settings):
    settings.SMS_DEFAULT_REGION = "US"
    assert normalize_phone_number("(201) 555-0123") == "+12015550123"


@pytest.mark.parametrize(
    "raw", ["", "   ", "not a number", "+1", "+91 12345", "12", "+999 1234567890"]
)
def test_it_rejects_what_is_not_a_valid_number(raw):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalize_phone_number(raw)
    assert info.value.code == "invalid_phone_number"
    assert info.value.details["to"]


def test_it_masks_all_but_the_prefix_and_last_two_digits():
    assert mask_phone_number("+919812345610") == "+9198******10"
    assert mask_phone_number("+12015550123") == "+1201*****23"
    assert mask_phone_number("") == ""
    assert "5550" not in mask_phone_number("+15550")


def test_it_knows_the_region_of_a_number():
    assert region_of("+919812345610") == "IN"
    assert region_of("+12015550123") == "US"


@pytest.mark.parametrize(
    "raw", ["98000abcde", "+91 98123 4561O", "1-800-FLOWERS", "+9198123४5610x"]
)
def test_letters_are_a_typo_not_keypad_digits(raw):
    """phonenumbers would read letters as keypad digits and accept a different number."""
    with pytest.raises(InvalidPhoneNumber, match="digits only"):
        normalize_phone_number(raw)
