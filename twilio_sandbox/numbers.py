"""Phone-number rules: validation, Twilio's test magic numbers, sender kinds, opt-out keywords."""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
# Alphanumeric sender IDs: up to 11 characters, letters, digits and spaces, at least one letter.
ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
CHANNEL_PREFIXES = ("whatsapp:", "messenger:", "rcs:")

# Twilio's magic numbers for test credentials, "Test SMS messages" table:
# https://www.twilio.com/docs/iam/test-credentials#test-sms-messages
MAGIC_FROM_VALID = "+15005550006"
MAGIC_FROM_ERRORS: dict[str, int] = {
    "+15005550001": 21212,  # invalid From number
    "+15005550007": 21606,  # not owned by the account / not SMS-capable
    "+15005550008": 21611,  # From number's SMS queue is full
}
MAGIC_TO_ERRORS: dict[str, int] = {
    "+15005550001": 21211,  # invalid To number
    "+15005550002": 21612,  # Twilio cannot route to this number
    "+15005550003": 21408,  # no international permission for the destination
    "+15005550004": 21610,  # To number is blocked for the account (opted out)
    "+15005550009": 21614,  # To number is not SMS-capable (e.g. landline)
}

# Default keywords of Twilio's (Advanced) Opt-Out handling:
# https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out and
# https://help.twilio.com/articles/223134027 (Twilio support for opt-out keywords).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

# US toll-free prefixes: https://www.twilio.com/docs/glossary/what-is-a-toll-free-number
TOLL_FREE = re.compile(r"^\+18(00|33|44|55|66|77|88)\d{7}$")
# Default sender throughput (message segments per second), per Twilio's rate-limit FAQ:
# https://help.twilio.com/articles/115002943027 (long code 1, toll-free 3, short code 100).
DEFAULT_MPS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0, "alphanumeric": 1.0}


def strip_channel(address: str) -> str:
    for prefix in CHANNEL_PREFIXES:
        if address.startswith(prefix):
            return address[len(prefix) :]
    return address


def valid_to(address: str) -> bool:
    return bool(E164.match(strip_channel(address)))


def valid_from(address: str) -> bool:
    bare = strip_channel(address)
    return bool(E164.match(bare) or SHORT_CODE.match(bare) or ALPHANUMERIC.match(bare))


def sender_kind(address: str) -> str:
    bare = strip_channel(address)
    if SHORT_CODE.match(bare):
        return "short_code"
    if TOLL_FREE.match(bare):
        return "toll_free"
    if E164.match(bare):
        return "long_code"
    return "alphanumeric"


def keyword_type(body: str) -> str | None:
    """Twilio's `OptOutType` for an inbound body that is exactly one keyword, else None."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "STOP"
    if word in OPT_IN_KEYWORDS:
        return "START"
    if word in HELP_KEYWORDS:
        return "HELP"
    return None
