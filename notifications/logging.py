"""Logging filter that masks every phone number in a log line, whatever logged it."""

import logging
import re

from notifications.phone import mask_phone_number

# E.164-looking numbers: a plus and 8 to 15 digits.
PHONE_PATTERN = re.compile(r"\+\d{8,15}")


class MaskPhoneNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = PHONE_PATTERN.sub(lambda m: mask_phone_number(m.group()), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
