"""SMSLog: one row per message, written through the status state machine."""

import uuid

from django.db import models

from notifications.phone import mask_phone_number
from notifications.status import SMSStatus


class SMSLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.CharField(max_length=20, help_text="Recipient in E.164.")
    body = models.TextField()
    sender = models.CharField(max_length=64, blank=True, help_text="From number or service SID.")
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SMSStatus.choices, default=SMSStatus.PENDING, db_index=True
    )
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Provider calls claimed so far.")
    segments = models.PositiveSmallIntegerField(default=1)
    encoding = models.CharField(max_length=8, default="GSM-7")
    task_id = models.CharField(max_length=64, blank=True, help_text="Celery task id.")
    provider_payload = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "SMS log"
        permissions = [("send_sms", "Can send SMS through the API")]
        indexes = [models.Index(fields=["status", "updated_at"], name="smslog_status_updated")]

    def __str__(self) -> str:
        return f"SMS to {self.masked_to} ({self.status})"

    @property
    def masked_to(self) -> str:
        return mask_phone_number(self.to)


class WebhookEvent(models.Model):
    """Audit of every callback received: what it said (numbers masked) and what we did with it."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status callback"
        INBOUND = "inbound", "Inbound message"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        DUPLICATE = "duplicate", "Duplicate"
        STALE = "stale", "Stale (older than the recorded status)"
        UNKNOWN = "unknown", "Unknown message SID"
        REJECTED = "rejected", "Rejected (bad signature)"
        HANDLED = "handled", "Handled (inbound)"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.STATUS)
    provider_sid = models.CharField(max_length=64, blank=True, db_index=True)
    provider_status = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    idempotency_token = models.CharField(max_length=128, blank=True)
    payload = models.JSONField(
        default=dict, blank=True, help_text="Posted parameters, numbers masked."
    )
    message = models.ForeignKey(SMSLog, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.provider_sid} {self.provider_status}: {self.outcome}"


class Suppression(models.Model):
    """Numbers that must not be sent to: they replied STOP, or Twilio answered 21610."""

    phone_number = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=32, help_text="The keyword or provider error code.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{mask_phone_number(self.phone_number)} ({self.reason})"


class VerificationAttempt(models.Model):
    """Audit of every verification start and check: what was asked and what came of it.

    The number is stored in E.164 for lookups and shown masked; the code is never stored.
    """

    class Kind(models.TextChoices):
        START = "start", "Start (send a code)"
        CHECK = "check", "Check (a code)"

    class Outcome(models.TextChoices):
        QUEUED = "queued", "Queued (not yet sent to the provider)"
        SENDING = "sending", "Sending (claimed by a worker)"
        PENDING = "pending", "Pending (code sent, or a wrong code)"
        APPROVED = "approved", "Approved"
        EXPIRED = "expired", "Expired (or no pending verification)"
        MAX_ATTEMPTS_REACHED = "max_attempts_reached", "Max attempts reached"
        CANCELED = "canceled", "Canceled"
        THROTTLED = "throttled", "Throttled"
        COUNTRY_NOT_ALLOWED = "country_not_allowed", "Country not allowed"
        FAILED = "failed", "Failed (refused by the provider)"
        PROVIDER_UNAVAILABLE = "provider_unavailable", "Provider unavailable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    phone_number = models.CharField(max_length=20, db_index=True, help_text="E.164.")
    channel = models.CharField(max_length=8, default="sms")
    outcome = models.CharField(max_length=24, choices=Outcome.choices, db_index=True)
    throttle = models.CharField(max_length=32, blank=True, help_text="The limit that refused.")
    verification_sid = models.CharField(max_length=64, blank=True, db_index=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Provider calls claimed.")
    task_id = models.CharField(max_length=64, blank=True, help_text="Celery task id (start).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "outcome"], name="verif_kind_outcome")]

    def __str__(self) -> str:
        return f"Verification {self.kind} for {self.masked_phone_number}: {self.outcome}"

    @property
    def masked_phone_number(self) -> str:
        return mask_phone_number(self.phone_number)
