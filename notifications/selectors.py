"""Reads of SMS logs."""

from django.core.exceptions import ValidationError
from django.http import Http404

from notifications.models import SMSLog


def sms_get(*, message_id) -> SMSLog:
    """The message with this id; Http404 when there is none (or the id is malformed)."""
    try:
        return SMSLog.objects.get(id=message_id)
    except (SMSLog.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No message with this id.") from exc
