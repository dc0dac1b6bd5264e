"""Pluggable SMS backends, chosen by the SMS_BACKEND dotted path (like EMAIL_BACKEND)."""

from django.utils.module_loading import import_string

from notifications import conf
from notifications.backends.base import (
    MAX_CHECK_ATTEMPTS,
    NO_PENDING_VERIFICATION,
    BaseSMSBackend,
    OutboundSMS,
    SendResult,
    VerificationChecked,
    VerificationStarted,
)

__all__ = [
    "MAX_CHECK_ATTEMPTS",
    "NO_PENDING_VERIFICATION",
    "BaseSMSBackend",
    "OutboundSMS",
    "SendResult",
    "VerificationChecked",
    "VerificationStarted",
    "get_backend",
]


def get_backend(path: str | None = None, **kwargs) -> BaseSMSBackend:
    """An instance of the configured backend (or of `path`)."""
    return import_string(path or conf.get("SMS_BACKEND"))(**kwargs)
