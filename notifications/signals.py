"""Signals other apps listen to without importing webhook or worker code.

sms_status_changed(sender=SMSLog, message_id=UUID, status=str, reference=str, metadata=dict):
sent after the transaction that changed the status commits, once per applied transition, with
the reference and metadata the message was sent with (so a listener knows which of its events
the message tells of without storing message ids).
"""

from django.dispatch import Signal

sms_status_changed = Signal()
