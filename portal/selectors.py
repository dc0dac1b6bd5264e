"""The portal's reads: jobs a student may apply for, the office's queues, and the SMS the portal
sent (read from notifications.selectors by recipient and `portal:` reference: the portal keeps
no message ids of its own)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from notifications import selectors as sms
from notifications.phone import mask_phone_number
from portal.models import Application, JobPosting, MessageTemplate, StudentProfile

REFERENCE_PREFIX = "portal:"


# --- Students and jobs ----------------------------------------------------------------------


def eligible_students(*, departments, min_graduation_year: int) -> QuerySet[StudentProfile]:
    """Approved students with a verified phone, of these departments, graduating in
    min_graduation_year or later: who a job posting is announced to."""
    return StudentProfile.objects.filter(
        is_approved=True,
        phone_verified=True,
        department__in=departments,
        graduation_year__gte=min_graduation_year,
    ).order_by("pk")


def is_eligible(*, student: StudentProfile, job: JobPosting) -> bool:
    """The job is open to the student's department and graduation year (open or not)."""
    return (
        student.graduation_year >= job.min_graduation_year
        and job.departments.filter(pk=student.department_id).exists()
    )


def open_jobs_for(student: StudentProfile) -> QuerySet[JobPosting]:
    """Open jobs before their deadline that the student is eligible for, soonest deadline
    first, each with `applied` (bool): whether the student applied already."""
    return (
        JobPosting.objects.filter(
            is_open=True,
            deadline__gt=timezone.now(),
            departments=student.department_id,
            min_graduation_year__lte=student.graduation_year,
        )
        .annotate(applied=Exists(Application.objects.filter(student=student, job=OuterRef("pk"))))
        .prefetch_related("departments")
        .order_by("deadline", "pk")
    )


def applications_of(student: StudentProfile) -> QuerySet[Application]:
    return Application.objects.filter(student=student).select_related("job").order_by("-created_at")


def pending_students() -> QuerySet[StudentProfile]:
    """The verification queue: registrations waiting for the office, oldest first."""
    return (
        StudentProfile.objects.filter(is_approved=False)
        .select_related("department", "user")
        .order_by("created_at", "pk")
    )


def jobs_for_office() -> QuerySet[JobPosting]:
    """Every job, newest first, each with `application_count`."""
    return (
        JobPosting.objects.annotate(application_count=Count("applications"))
        .prefetch_related("departments")
        .select_related("posted_by")
        .order_by("-created_at", "-pk")
    )


def job_applications(job: JobPosting) -> QuerySet[Application]:
    return (
        Application.objects.filter(job=job)
        .select_related("student__department", "student__user")
        .order_by("created_at", "pk")
    )


def office_counts() -> dict[str, int]:
    """The office's front page: pending registrations, approved students, open jobs, and
    applications by status (every status, zeros included)."""
    by_status = dict(
        Application.objects.values_list("status").annotate(count=Count("pk")).order_by()
    )
    return {
        "pending_students": StudentProfile.objects.filter(is_approved=False).count(),
        "approved_students": StudentProfile.objects.filter(is_approved=True).count(),
        "open_jobs": JobPosting.objects.filter(is_open=True, deadline__gt=timezone.now()).count(),
        **{f"applications_{status}": by_status.get(status, 0) for status in Application.Status},
    }


# --- The SMS the portal sent ----------------------------------------------------------------


@dataclass(frozen=True)
class NotificationRow:
    """One SMS of the portal: which event it told of and how its delivery went."""

    id: UUID
    event: str  # a MessageTemplate event, "" when the message names none
    label: str  # e.g. "Application status changed: Shortlisted"
    reference: str  # portal:student:<id>, portal:job:<id>, portal:application:<id>
    masked_to: str
    body: str
    status: str  # the notifications status: pending, queued, sent, delivered, failed, ...
    error_code: str
    created_at: datetime
    delivered_at: datetime | None
    metadata: dict  # the event's ids

    @property
    def is_delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def is_failed(self) -> bool:
        return self.status in ("failed", "undelivered")


ROW_FIELDS = ("id", "to", "body", "status", "error_code", "created_at", "delivered_at",
              "reference", "metadata")  # fmt: skip


def _rows(messages) -> list[NotificationRow]:
    labels = dict(MessageTemplate.Event.choices)
    statuses = dict(Application.Status.choices)
    rows = []
    for message in messages.values(*ROW_FIELDS):
        metadata = message["metadata"] or {}
        event = metadata.get("event", "")
        label = str(labels.get(event, "Message"))
        if metadata.get("status") in statuses:
            label = f"{label}: {statuses[metadata['status']]}"
        rows.append(
            NotificationRow(
                id=message["id"],
                event=event,
                label=label,
                reference=message["reference"],
                masked_to=mask_phone_number(message["to"]),
                body=message["body"],
                status=message["status"],
                error_code=message["error_code"],
                created_at=message["created_at"],
                delivered_at=message["delivered_at"],
                metadata=metadata,
            )
        )
    return rows


def notifications_of(student: StudentProfile, *, limit: int = 50) -> list[NotificationRow]:
    """The portal's SMS to the student's number, newest first."""
    return _rows(sms.sms_history(to=student.phone, reference_prefix=REFERENCE_PREFIX)[:limit])


def office_history(limit: int = 100) -> list[NotificationRow]:
    """Every SMS the portal sent, newest first."""
    return _rows(sms.sms_history(reference_prefix=REFERENCE_PREFIX)[:limit])


def office_outcomes(days: int = 14) -> dict[str, int]:
    """The portal's SMS of the last `days` days by outcome: delivered, on the way (pending,
    queued, sending, sent), failed (failed, undelivered), not sent (canceled, skipped)."""
    since = timezone.now() - timedelta(days=days)
    counts = dict(
        sms.sms_history(reference_prefix=REFERENCE_PREFIX)
        .filter(created_at__gte=since)
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    outcomes = {
        "delivered": counts.get("delivered", 0),
        "on_the_way": sum(counts.get(s, 0) for s in ("pending", "queued", "sending", "sent")),
        "failed": counts.get("failed", 0) + counts.get("undelivered", 0),
        "not_sent": counts.get("canceled", 0) + counts.get("skipped", 0),
    }
    return {**outcomes, "total": sum(counts.values())}


def office_daily(days: int = 14) -> list[sms.DailyDelivery]:
    """The portal's SMS per day (oldest first, zeros included): sent, delivered, failed and
    `delivery_rate` (delivered over those with an outcome; None without any)."""
    return sms.daily_delivery(reference_prefix=REFERENCE_PREFIX, days=days)


def job_progress(job: JobPosting) -> dict | None:
    """Where the job's announcement stands (JSON-ready), or None when it has none.

    Keys: bulk_id, state (accepted, sending, completed, canceled), finished (nothing more will
    be handed to the provider), settled (and no message is still on its way), total, done
    (handed over), percent (of done), delivered, sent (queued, sending or sent), failed
    (failed, undelivered), stopped (canceled, skipped), remaining (not handed over yet), rate
    (messages per second, last minute), eta_seconds (None while nothing moves).
    """
    if not job.announcement_bulk_id:
        return None
    try:
        bulk = sms.bulk_get(bulk_id=job.announcement_bulk_id)
    except Http404:
        return None
    progress = sms.bulk_progress(bulk)
    counts = progress.counts
    total, remaining = sum(counts.values()), counts["pending"]
    sent = counts["queued"] + counts["sending"] + counts["sent"]
    finished = str(bulk.state) in ("completed", "canceled")
    return {
        "bulk_id": str(bulk.id),
        "state": str(bulk.state),
        "finished": finished,
        "settled": finished and not remaining and not sent,
        "total": total,
        "done": total - remaining,
        "percent": 100 * (total - remaining) // total if total else 100,
        "delivered": counts["delivered"],
        "sent": sent,
        "failed": counts["failed"] + counts["undelivered"],
        "stopped": counts["canceled"] + counts["skipped"],
        "remaining": remaining,
        "rate": round(progress.rate, 2),
        "eta_seconds": None if progress.eta_seconds is None else round(progress.eta_seconds),
    }
