"""Logging filter that masks every phone number in a log line, whatever logged it."""

import logging

from notifications.phone import mask_phone_numbers_in


class MaskPhoneNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone_numbers_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
