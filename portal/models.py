"""The portal's records: departments, students, jobs, applications and their history, and the
text of each message the portal sends."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from notifications.phone import mask_phone_number
from portal import messages

ROLL_NUMBER_MAX = 32


class Department(models.Model):
    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class StudentProfile(models.Model):
    """A student's registration: submitted once the phone is verified, approved by the office."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="student_profile"
    )
    full_name = models.CharField(max_length=messages.FULL_NAME_MAX)
    roll_number = models.CharField(max_length=ROLL_NUMBER_MAX, unique=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="students")
    graduation_year = models.PositiveSmallIntegerField()
    phone = models.CharField(max_length=20, unique=True, help_text="E.164.")
    phone_verified = models.BooleanField(default=False)
    is_approved = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.roll_number})"

    @property
    def masked_phone(self) -> str:
        return mask_phone_number(self.phone)


class JobPosting(models.Model):
    company = models.CharField(max_length=messages.COMPANY_MAX)
    title = models.CharField(max_length=messages.TITLE_MAX)
    description = models.TextField(blank=True)
    departments = models.ManyToManyField(Department, related_name="jobs")
    min_graduation_year = models.PositiveSmallIntegerField(
        help_text="Students graduating this year or later may apply."
    )
    deadline = models.DateTimeField()
    is_open = models.BooleanField(default=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    announcement_bulk_id = models.UUIDField(
        null=True, blank=True, help_text="The bulk send that told the eligible students."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A double submit of the same posting is refused, never announced twice.
            models.UniqueConstraint(
                fields=["company", "title", "deadline"], name="portal_job_posted_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.company}"

    @property
    def accepts_applications(self) -> bool:
        return self.is_open and self.deadline > timezone.now()


class Application(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        SHORTLISTED = "shortlisted", "Shortlisted"
        INTERVIEW = "interview", "Interview"
        SELECTED = "selected", "Selected"
        REJECTED = "rejected", "Rejected"

    student = models.ForeignKey(
        StudentProfile, on_delete=models.CASCADE, related_name="applications"
    )
    job = models.ForeignKey(JobPosting, on_delete=models.CASCADE, related_name="applications")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.APPLIED, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "job"], name="portal_apply_once_per_job")
        ]

    def __str__(self) -> str:
        return f"{self.student} for {self.job} ({self.status})"

    @property
    def next_statuses(self) -> list[str]:
        """Where this application may move next, in order; empty once it is final."""
        return list(STATUS_TRANSITIONS[self.status])


Status = Application.Status
# The only moves an application makes: one stage forward, or out. Selected and rejected are
# final. (A list keeps the order in which the office sees the choices.)
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.APPLIED: (Status.SHORTLISTED, Status.REJECTED),
    Status.SHORTLISTED: (Status.INTERVIEW, Status.REJECTED),
    Status.INTERVIEW: (Status.SELECTED, Status.REJECTED),
    Status.SELECTED: (),
    Status.REJECTED: (),
}


class ApplicationStatusChange(models.Model):
    """One step of an application's history; the first has no from_status (it was applied)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class MessageTemplate(models.Model):
    """The text of one event's SMS, editable by the office without a deploy.

    Checked whenever it is saved (the admin shows the errors on the body): only that event's
    placeholders, {portal} and the event's required ones present, and at most
    PORTAL_MAX_TEMPLATE_SEGMENTS segments at its longest plausible rendering, whose encoding
    and segment count are stored with it.
    """

    class Event(models.TextChoices):
        REGISTRATION_RECEIVED = "registration_received", "Registration received"
        REGISTRATION_APPROVED = "registration_approved", "Registration approved"
        REGISTRATION_REJECTED = "registration_rejected", "Registration rejected"
        JOB_POSTED = "job_posted", "Job posted"
        APPLICATION_RECEIVED = "application_received", "Application received"
        APPLICATION_STATUS = "application_status", "Application status changed"

    event = models.CharField(max_length=32, choices=Event.choices, unique=True)
    body = models.TextField()
    encoding = models.CharField(max_length=8, editable=False, default="GSM-7")
    segments = models.PositiveSmallIntegerField(
        editable=False, default=1, help_text="At its longest plausible rendering."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["event"]

    def __str__(self) -> str:
        return self.get_event_display()

    def save(self, *args, **kwargs) -> None:
        self.measure()  # never stored unchecked, whoever saves it
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.measure()

    @property
    def placeholders(self) -> tuple[str, ...]:
        return messages.PLACEHOLDERS[self.event]

    def measure(self) -> None:
        """Check the body and set its encoding and segments (ValidationError on the body)."""
        try:
            info = messages.check(self.event, self.body)
        except ValidationError as exc:
            raise ValidationError({"body": exc.error_list}) from exc
        self.encoding, self.segments = info.encoding, info.segments
