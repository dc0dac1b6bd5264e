"""Signals other apps listen to without importing webhook or worker code.

sms_status_changed(sender=SMSLog, message_id=UUID, status=str): sent after the transaction that
changed the status commits, once per applied transition.
"""

from django.dispatch import Signal

sms_status_changed = Signal()
