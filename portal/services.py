"""The portal's writes: each decision recorded and its SMS sent in one transaction.

Every SMS goes through notifications.services inside the transaction of the write it announces
(published only if that commits), with an idempotency key derived from the event, a
`portal:<kind>:<id>` reference and metadata of ids (plus the event's name). A double submit or a
retried request finds the write already done and returns it, or is refused by a constraint:
never a second SMS. Registration and phone changes are in portal.registration.
"""

import logging

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from notifications import services as notifications
from portal import messages, selectors
from portal.exceptions import (
    AlreadyApplied,
    AlreadyApproved,
    ApplicationsClosed,
    JobAlreadyPosted,
    NoEligibleStudents,
    NotApproved,
    NotEligible,
    PortalError,
    ProfileLocked,
    StatusChangeNotAllowed,
    StudentNotFound,
    check_length,
)
from portal.models import (
    STATUS_TRANSITIONS,
    Application,
    ApplicationStatusChange,
    JobPosting,
    MessageTemplate,
    StudentProfile,
)
from portal.notices import message_render, notify  # noqa: F401 (message_render: interface)
from portal.registration import (  # noqa: F401 (part of this module's interface)
    PendingRegistration,
    phone_change_confirm,
    phone_change_start,
    registration_complete,
    registration_resend,
    registration_start,
)

logger = logging.getLogger(__name__)
Event = MessageTemplate.Event
Status = Application.Status


# --- The placement office: registrations --------------------------------------------------


def student_approve(*, profile: StudentProfile, by) -> StudentProfile:
    """Approve a registration and tell the student. Approving an approved student changes
    nothing and sends nothing. Raises StudentNotFound when it was rejected meanwhile."""
    with transaction.atomic():
        locked = StudentProfile.objects.select_for_update().filter(pk=profile.pk).first()
        if locked is None:
            raise StudentNotFound("This registration no longer exists: it was rejected.")
        if locked.is_approved:
            return locked
        locked.is_approved, locked.approved_at, locked.approved_by = True, timezone.now(), by
        locked.save(update_fields=["is_approved", "approved_at", "approved_by"])
        notify(
            event=Event.REGISTRATION_APPROVED,
            to=locked.phone,
            key=f"portal:student:{locked.pk}:approved",
            reference=f"portal:student:{locked.pk}",
            ids={"student": locked.pk},
            name=locked.full_name,
        )
    logger.info("Student %s approved (%s)", locked.pk, locked.masked_phone)
    return locked


def student_reject(*, profile: StudentProfile, by) -> None:
    """Tell the student the registration was not approved, then delete it and its user.

    Rejecting a registration that is already gone does nothing (a double click). Raises
    AlreadyApproved for an approved student.
    """
    with transaction.atomic():
        locked = (
            StudentProfile.objects.select_for_update()
            .select_related("user")
            .filter(pk=profile.pk)
            .first()
        )
        if locked is None:
            return
        if locked.is_approved:
            raise AlreadyApproved(f"{locked.full_name} is already approved.")
        student_id = locked.pk  # the key's id: gone from the instance once it is deleted
        notify(
            event=Event.REGISTRATION_REJECTED,
            to=locked.phone,
            key=f"portal:student:{student_id}:rejected",
            reference=f"portal:student:{student_id}",
            ids={"student": student_id},
            name=locked.full_name,
        )
        locked.user.delete()  # and the profile with it
    logger.info("Student %s rejected by %s and removed", student_id, getattr(by, "pk", None))


def profile_update(
    *, profile: StudentProfile, full_name: str, department, graduation_year: int
) -> StudentProfile:
    """Change a student's own details. Once approved, the department and graduation year (which
    decide the jobs a student may apply for) are the office's to change: ProfileLocked."""
    full_name = (full_name or "").strip()
    if not full_name:
        raise PortalError("Your name is required.", field="full_name")
    check_length(full_name, messages.FULL_NAME_MAX, field="full_name", what="Your name")
    with transaction.atomic():
        locked = StudentProfile.objects.select_for_update().get(pk=profile.pk)
        if locked.is_approved:
            if department.pk != locked.department_id:
                raise ProfileLocked(
                    "Your department was approved by the placement office: ask them to change it.",
                    field="department",
                )
            if int(graduation_year) != locked.graduation_year:
                raise ProfileLocked(
                    "Your graduation year was approved by the placement office: ask them to "
                    "change it.",
                    field="graduation_year",
                )
        locked.full_name, locked.department = full_name, department
        locked.graduation_year = int(graduation_year)
        locked.save(update_fields=["full_name", "department", "graduation_year"])
    return locked


# --- Jobs -------------------------------------------------------------------------------


def job_post(
    *, company, title, description, departments, min_graduation_year, deadline, by
) -> JobPosting:
    """Create a job and announce it by one bulk SMS to every approved, phone-verified student
    of its departments graduating in min_graduation_year or later.

    Raises NoEligibleStudents (nothing written) when there is nobody to tell, JobAlreadyPosted
    when the same company, title and deadline exist (a double submit: the first is kept),
    PortalError on `departments` or `deadline` for none chosen or a deadline already past.
    """
    company, title, departments = company.strip(), title.strip(), list(departments)
    check_length(company, messages.COMPANY_MAX, field="company", what="The company's name")
    check_length(title, messages.TITLE_MAX, field="title", what="The title")
    if not departments:
        raise PortalError("Choose at least one department.", field="departments")
    if deadline <= timezone.now():
        raise PortalError("The deadline must be in the future.", field="deadline")
    existing = JobPosting.objects.filter(company=company, title=title, deadline=deadline).first()
    if existing is not None:
        raise JobAlreadyPosted("This job is already posted.", job=existing)
    with transaction.atomic():
        phones = list(
            selectors.eligible_students(
                departments=departments, min_graduation_year=min_graduation_year
            ).values_list("phone", flat=True)
        )
        if not phones:
            raise NoEligibleStudents(
                "No approved student of these departments graduates in "
                f"{min_graduation_year} or later: nobody would be told of this job."
            )
        try:
            with transaction.atomic():
                job = JobPosting.objects.create(
                    company=company,
                    title=title,
                    description=description,
                    min_graduation_year=min_graduation_year,
                    deadline=deadline,
                    posted_by=by,
                )
        except IntegrityError:
            existing = JobPosting.objects.get(company=company, title=title, deadline=deadline)
            raise JobAlreadyPosted("This job is already posted.", job=existing) from None
        job.departments.set(departments)
        bulk = notifications.send_bulk(
            recipients=phones,
            body=message_render(
                Event.JOB_POSTED,
                company=company,
                title=title,
                deadline=messages.format_deadline(deadline),
            ),
            idempotency_key=f"portal:job:{job.pk}:posted",
            reference=f"portal:job:{job.pk}",
            metadata={"event": Event.JOB_POSTED.value, "job": job.pk},
            created_by=by,
        )
        job.announcement_bulk_id = bulk.id
        job.save(update_fields=["announcement_bulk_id"])
    logger.info(
        "Job %s posted; %d eligible student(s) told (bulk %s)", job.pk, len(phones), bulk.id
    )
    return job


def job_close(*, job: JobPosting, by) -> JobPosting:
    """Stop taking applications (the office still moves the existing ones). Idempotent."""
    if JobPosting.objects.filter(pk=job.pk, is_open=True).update(is_open=False):
        logger.info("Job %s closed by %s", job.pk, getattr(by, "pk", None))
    job.refresh_from_db()
    return job


# --- Applications -------------------------------------------------------------------------


def application_create(*, student: StudentProfile, job: JobPosting) -> Application:
    """Apply for a job, once; the student is told it was received.

    Raises NotApproved, AlreadyApplied (also for a double submit: the unique constraint
    decides), ApplicationsClosed (closed or past its deadline) or NotEligible.
    """
    student = StudentProfile.objects.select_related("user").get(pk=student.pk)
    job = JobPosting.objects.get(pk=job.pk)
    if not student.is_approved:
        raise NotApproved("You can apply once the placement office has approved you.")
    if Application.objects.filter(student=student, job=job).exists():
        raise AlreadyApplied("You have already applied for this job.")
    if not job.is_open:
        raise ApplicationsClosed("This job no longer takes applications.")
    if job.deadline <= timezone.now():
        raise ApplicationsClosed("The deadline for this job has passed.")
    if not selectors.is_eligible(student=student, job=job):
        raise NotEligible("This job is not open to your department or graduation year.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                application = Application.objects.create(student=student, job=job)
        except IntegrityError:
            raise AlreadyApplied("You have already applied for this job.") from None
        ApplicationStatusChange.objects.create(
            application=application, to_status=Status.APPLIED, changed_by=student.user
        )
        notify(
            event=Event.APPLICATION_RECEIVED,
            to=student.phone,
            key=f"portal:application:{application.pk}:received",
            reference=f"portal:application:{application.pk}",
            ids={"application": application.pk, "job": job.pk, "student": student.pk},
            name=student.full_name,
            company=job.company,
            title=job.title,
        )
    return application


def application_change_status(*, application: Application, to_status: str, by) -> Application:
    """Move an application one step along STATUS_TRANSITIONS and tell the student.

    A conditional UPDATE on the current status decides between two concurrent changes; a change
    to the status it already has returns it unchanged (a double click: one SMS). Raises
    StatusChangeNotAllowed naming the allowed next statuses.
    """
    if to_status not in Status.values:
        raise StatusChangeNotAllowed(f"“{to_status}” is not a status.", allowed=[])
    with transaction.atomic():
        current = (
            Application.objects.select_related("student", "job").filter(pk=application.pk).first()
        )
        if current is None:
            raise Http404("No such application.")
        if current.status == to_status:
            return current
        refused = _refusal(current.status, to_status)
        if refused:
            raise refused
        now = timezone.now()
        moved = Application.objects.filter(pk=current.pk, status=current.status).update(
            status=to_status, updated_at=now
        )
        if not moved:  # another request moved it first
            current.refresh_from_db()
            if current.status == to_status:
                return current
            raise _refusal(current.status, to_status) or StatusChangeNotAllowed(
                f"This application was just moved to {current.get_status_display()}: look "
                "again before changing it.",
                allowed=list(STATUS_TRANSITIONS[current.status]),
            )
        ApplicationStatusChange.objects.create(
            application=current,
            from_status=current.status,
            to_status=to_status,
            changed_by=by,
            changed_at=now,
        )
        current.status, current.updated_at = to_status, now
        notify(
            event=Event.APPLICATION_STATUS,
            to=current.student.phone,
            key=f"portal:application:{current.pk}:status:{to_status}",
            reference=f"portal:application:{current.pk}",
            ids={
                "application": current.pk,
                "job": current.job_id,
                "student": current.student_id,
                "status": to_status,
            },
            name=current.student.full_name,
            company=current.job.company,
            title=current.job.title,
            status=Status(to_status).label,
        )
    return current


def _refusal(current: str, to_status: str) -> StatusChangeNotAllowed | None:
    allowed = STATUS_TRANSITIONS[current]
    if to_status in allowed:
        return None
    label = Status(current).label
    if not allowed:
        message = f"This application is final ({label}): its status no longer changes."
    else:
        choices = " or ".join(str(Status(status).label) for status in allowed)
        message = f"An application that is {label} can only move to {choices}."
    return StatusChangeNotAllowed(message, allowed=list(allowed))
