"""SMSLog: one row per message, written through the status state machine; BulkSend: one bulk."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.phone import mask_phone_number, mask_phone_numbers_in
from notifications.status import SMSStatus


class BulkSend(models.Model):
    """One body to many recipients: each accepted recipient has its own SMSLog row."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", "Accepted (not started)"
        SENDING = "sending", "Sending"
        COMPLETED = "completed", "Completed"
        CANCELED = "canceled", "Canceled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.TextField()
    sender = models.CharField(max_length=64, blank=True, help_text="From number or service SID.")
    segments = models.PositiveSmallIntegerField(default=1)
    encoding = models.CharField(max_length=8, default="GSM-7")
    total = models.PositiveIntegerField(default=0, help_text="Recipients accepted (one SMS each).")
    rejected = models.JSONField(
        default=list, blank=True, help_text="Recipients refused: index, value and error."
    )
    duplicates = models.PositiveIntegerField(default=0, help_text="Repeated recipients dropped.")
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Digest of body and recipients (idempotency)."
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.ACCEPTED, db_index=True
    )
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reference = models.CharField(max_length=255, blank=True, db_index=True)
    metadata = models.JSONField(
        default=dict, blank=True, help_text="The caller's own data (ids only): on every message."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    pumped_at = models.DateTimeField(
        null=True, blank=True, help_text="When its fan-out last ran (the dispatcher revives it)."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "bulk send"

    def __str__(self) -> str:
        return f"Bulk {str(self.id)[:8]} to {self.total} ({self.state})"

    @property
    def canceled_flag_key(self) -> str:
        """The cache key its cancel sets: what a worker reads right before each provider call."""
        return canceled_flag_key(self.id)


def canceled_flag_key(bulk_id) -> str:
    return f"sms:bulk:{bulk_id}:canceled"


class SMSLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.CharField(max_length=20, help_text="Recipient in E.164.")
    body = models.TextField()
    sender = models.CharField(max_length=64, blank=True, help_text="From number or service SID.")
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reference = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The caller's business reference."
    )
    metadata = models.JSONField(
        default=dict, blank=True, help_text="The caller's own data about the event (ids only)."
    )
    bulk = models.ForeignKey(
        BulkSend, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    bulk_index = models.PositiveIntegerField(
        null=True, blank=True, help_text="Position of the recipient in its bulk."
    )
    provider_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SMSStatus.choices, default=SMSStatus.PENDING, db_index=True
    )
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Provider calls started so far.")
    segments = models.PositiveSmallIntegerField(default=1)
    encoding = models.CharField(max_length=8, default="GSM-7")
    provider_payload = models.JSONField(default=dict, blank=True)

    # The delivery schedule and claim (notifications.delivery): the row is the outbox.
    next_attempt_at = models.DateTimeField(
        default=timezone.now, help_text="When the message may next be tried."
    )
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task was last put on the broker (or is due)."
    )
    lease_owner = models.CharField(
        max_length=128, blank=True, help_text="The worker that holds the message now."
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed while its holder lives (a short lease)."
    )
    abandoned_runs = models.PositiveSmallIntegerField(
        default=0, help_text="Runs that held it and stopped without an outcome (workers lost)."
    )
    call_started_at = models.DateTimeField(
        null=True, blank=True, help_text="A provider call began and its outcome is not recorded."
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider took it (or refused it for good)."
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "SMS log"
        permissions = [("send_sms", "Can send SMS through the API")]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="smslog_status_updated"),
            # The dispatcher's question: which pending messages are due?
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=SMSStatus.PENDING),
                name="smslog_pending_due",
            ),
            # Lease renewal: the messages a run holds.
            models.Index(
                fields=["lease_owner"], condition=~Q(lease_owner=""), name="smslog_leased"
            ),
            # A bulk's progress: counts by status.
            models.Index(fields=["bulk", "status"], name="smslog_bulk_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["bulk", "bulk_index"],
                condition=Q(bulk__isnull=False),
                name="smslog_one_row_per_bulk_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"SMS to {self.masked_to} ({self.status})"

    @property
    def masked_to(self) -> str:
        return mask_phone_number(self.to)


class BrokerRun(models.Model):
    """Each start of the broker's Redis the dispatcher has seen (its run id is new at each):
    a new one means the tasks queued before it may be gone (notifications.recovery)."""

    run_id = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"Broker run {self.run_id} (seen {self.seen_at:%Y-%m-%d %H:%M:%S})"


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

    @staticmethod
    def error_fields(error) -> dict:
        """A provider error (a ProviderError, or None) as this row keeps it: code and message.

        Provider messages may quote the number ("Invalid 'To' Phone Number: +91..."): masked.
        """
        if error is None:
            return {"error_code": "", "error_message": ""}
        message = mask_phone_numbers_in(error.message or "")
        return {"error_code": error.code[:32], "error_message": message[:255]}
