"""The opt-out list: numbers that replied STOP (or that Twilio reports as opted out, 21610)."""

import logging
from collections.abc import Iterable

from notifications import conf
from notifications.models import Suppression
from notifications.phone import mask_phone_number

logger = logging.getLogger(__name__)

# Twilio's default opt-out, opt-in and help keywords
# (https://help.twilio.com/articles/223134027-Twilio-support-for-opt-out-keywords-SMS-STOP-filtering-).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
OPTED_OUT_ERROR = "21610"  # Twilio: "Attempt to send to unsubscribed recipient"
SMS_DISABLED = "SMS_ENABLED is false: not sent."
OPTED_OUT = "The recipient opted out (STOP): not sent."


def is_suppressed(number: str) -> bool:
    return Suppression.objects.filter(phone_number=number).exists()


def skip_reasons(numbers: Iterable[str]) -> dict[str, str]:
    """Why each of these numbers must not reach the provider now (one query); the numbers that
    may are left out."""
    numbers = list(numbers)
    if not conf.get("SMS_ENABLED"):
        return dict.fromkeys(numbers, SMS_DISABLED)
    suppressed = Suppression.objects.filter(phone_number__in=numbers)
    return dict.fromkeys(suppressed.values_list("phone_number", flat=True), OPTED_OUT)


def suppress(number: str, *, reason: str) -> bool:
    """Put the number on the list; whether it was not there yet."""
    _, created = Suppression.objects.get_or_create(phone_number=number, defaults={"reason": reason})
    if created:
        logger.info("%s suppressed (%s)", mask_phone_number(number), reason)
    return created


def unsuppress(number: str) -> bool:
    deleted, _ = Suppression.objects.filter(phone_number=number).delete()
    if deleted:
        logger.info("%s opted back in", mask_phone_number(number))
    return bool(deleted)
