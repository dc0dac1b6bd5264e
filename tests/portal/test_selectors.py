"""The portal's reads: eligible open jobs, the office's queues and counts, and the SMS the portal
sent (found by number and `portal:` reference), with their delivery status and progress."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services as sms
from notifications.models import SMSLog
from portal import selectors, services
from portal.models import Application
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(django_user_model):
    return django_user_model.objects.create_user("office", password="pw-office-123", is_staff=True)


# --- Jobs and applications ----------------------------------------------------------------------


def test_a_student_sees_the_open_jobs_of_their_department_and_year_soonest_first(
    make_student, make_job
):
    student = make_student(department="CSE", graduation_year=2026)
    later = make_job("Later", open_to=("CSE", "IT"), deadline_in=timedelta(days=9))
    sooner = make_job("Sooner", open_to=("CSE",), deadline_in=timedelta(days=2))
    make_job("Closed", is_open=False)
    make_job("Past its deadline", deadline_in=timedelta(seconds=-1))
    make_job("Other department", open_to=("ME",))
    make_job("For later graduates", min_graduation_year=2027)
    jobs = list(selectors.open_jobs_for(student))
    assert jobs == [sooner, later]
    assert [job.applied for job in jobs] == [False, False]


def test_open_jobs_say_which_ones_the_student_applied_for(make_student, make_job):
    student, other = make_student(), make_student()
    applied, not_applied = make_job("Applied"), make_job("Not applied", deadline_in=timedelta(9))
    Application.objects.create(student=student, job=applied)
    Application.objects.create(student=other, job=not_applied)
    assert {job.title: job.applied for job in selectors.open_jobs_for(student)} == {
        "Applied": True,
        "Not applied": False,
    }


def test_eligibility_is_department_and_graduation_year(make_student, make_job, departments):
    job = make_job(open_to=("CSE", "IT"), min_graduation_year=2026)
    assert selectors.is_eligible(
        student=make_student(department="IT", graduation_year=2027), job=job
    )
    assert not selectors.is_eligible(student=make_student(department="ME"), job=job)
    assert not selectors.is_eligible(student=make_student(graduation_year=2025), job=job)
    eligible = make_student(department="CSE")
    make_student(department="CSE", approved=False)
    assert list(
        selectors.eligible_students(departments=[departments["CSE"]], min_graduation_year=2026)
    ) == [eligible]


def test_a_students_applications_are_their_own_newest_first(make_student, make_job):
    student, other = make_student(), make_student()
    first = Application.objects.create(student=student, job=make_job("First"))
    second = Application.objects.create(student=student, job=make_job("Second"))
    Application.objects.create(student=other, job=make_job("Theirs"))
    assert list(selectors.applications_of(student)) == [second, first]


def test_the_queue_holds_pending_registrations_oldest_first(make_student):
    first, second = make_student(approved=False), make_student(approved=False)
    make_student(approved=True)
    assert list(selectors.pending_students()) == [first, second]


def test_the_office_sees_every_job_with_its_application_count(make_student, make_job):
    busy, quiet = make_job("Busy"), make_job("Quiet", is_open=False)
    for student in (make_student(), make_student()):
        Application.objects.create(student=student, job=busy)
    assert {job.title: job.application_count for job in selectors.jobs_for_office()} == {
        "Busy": 2,
        "Quiet": 0,
    }
    assert [a.job for a in selectors.job_applications(busy)] == [busy, busy]
    assert list(selectors.job_applications(quiet)) == []


def test_the_office_counts(make_student, make_job):
    make_student(approved=False)
    applicant = make_student()
    make_job("Closed", is_open=False)
    job = make_job("Open")
    Application.objects.create(student=applicant, job=job, status="shortlisted")
    assert selectors.office_counts() == {
        "pending_students": 1,
        "approved_students": 1,
        "open_jobs": 1,
        "applications_applied": 0,
        "applications_shortlisted": 1,
        "applications_interview": 0,
        "applications_selected": 0,
        "applications_rejected": 0,
    }


# --- The SMS the portal sent --------------------------------------------------------------------


@pytest.fixture
def history(make_student, make_job, office):
    """Asha: registration approved, an application moved to shortlisted. Ravi: approved. And a
    message to Asha's number that is not the portal's."""
    asha, ravi = make_student("Asha", approved=False), make_student("Ravi", approved=False)
    services.student_approve(profile=asha, by=office)
    services.student_approve(profile=ravi, by=office)
    application = Application.objects.create(student=asha, job=make_job("SDE"))
    services.application_change_status(application=application, to_status="shortlisted", by=office)
    sms.send_sms(to=asha.phone, body="Not the portal's", reference="elsewhere")
    return asha, ravi, application


def test_a_student_sees_the_portals_sms_to_them_newest_first(history):
    asha, _ravi, application = history
    rows = selectors.notifications_of(asha)
    assert [row.label for row in rows] == [
        "Application status changed: Shortlisted",
        "Registration approved",
    ]
    assert [row.reference for row in rows] == [
        f"portal:application:{application.pk}",
        f"portal:student:{asha.pk}",
    ]
    assert all(row.masked_to == asha.masked_phone and row.status == "pending" for row in rows)
    assert (
        rows[0].body.endswith("is now: Shortlisted.")
        and rows[0].metadata["status"] == "shortlisted"
    )
    assert not rows[0].is_delivered and not rows[0].is_failed


def test_the_office_sees_every_portal_sms_and_its_outcomes(history):
    asha, ravi, _application = history
    rows = selectors.office_history()
    assert len(rows) == 3 and {row.masked_to for row in rows} == {
        asha.masked_phone,
        ravi.masked_phone,
    }
    assert all(asha.phone not in repr(row) for row in rows)
    SMSLog.objects.filter(metadata__student=ravi.pk).update(status="delivered")
    SMSLog.objects.filter(metadata__event="application_status").update(status="undelivered")
    assert selectors.office_outcomes() == {
        "delivered": 1, "on_the_way": 1, "failed": 1, "not_sent": 0, "total": 3
    }  # fmt: skip
    today = selectors.office_daily(days=3)[-1]
    assert (today.day, today.sent, today.delivered, today.failed) == (
        timezone.now().date(), 3, 1, 1
    )  # fmt: skip
    assert today.delivery_rate == 0.5


def test_a_job_without_an_announcement_has_no_progress(make_job):
    assert selectors.job_progress(make_job()) is None


def test_a_jobs_progress_counts_its_announcement(make_student, departments, office):
    students = [make_student(), make_student(), make_student()]
    job = services.job_post(
        company="Northwind Systems", title="SDE", description="", departments=[departments["CSE"]],
        min_graduation_year=2026, deadline=timezone.now() + timedelta(days=3), by=office,
    )  # fmt: skip
    progress = selectors.job_progress(job)
    assert progress == {
        "bulk_id": str(job.announcement_bulk_id), "state": "accepted", "finished": False,
        "settled": False, "total": 3, "done": 0, "percent": 0, "delivered": 0, "sent": 0,
        "failed": 0, "stopped": 0, "remaining": 3, "rate": 0.0, "eta_seconds": None,
    }  # fmt: skip
    SMSLog.objects.filter(to=students[0].phone).update(status="delivered")
    SMSLog.objects.filter(to=students[1].phone).update(status="failed")
    progress = selectors.job_progress(job)
    assert (progress["done"], progress["percent"], progress["delivered"], progress["failed"]) == (
        2, 66, 1, 1
    )  # fmt: skip


# --- Through the real queue, the sandbox and its status callbacks ------------------------------


@pytest.mark.integration
def test_the_approval_sms_shows_as_delivered_to_the_student(
    celery_worker, sandbox, live_server, settings, make_student, office
):
    settings.PUBLIC_BASE_URL = live_server.url
    student = make_student("Asha", approved=False)
    services.student_approve(profile=student, by=office)
    [row] = wait_for(
        lambda: [r for r in selectors.notifications_of(student) if r.is_delivered],
        what="the approval delivered",
    )
    assert row.label == "Registration approved" and row.delivered_at
    [received] = sandbox.messages(to=student.phone)
    assert received["body"] == row.body


@pytest.mark.integration
def test_a_jobs_progress_settles_once_every_announcement_is_delivered(
    celery_worker, sandbox, live_server, settings, make_student, departments, office
):
    settings.PUBLIC_BASE_URL = live_server.url
    for _ in range(3):
        make_student(department="IT")
    job = services.job_post(
        company="Contoso", title="Analyst", description="", departments=[departments["IT"]],
        min_graduation_year=2026, deadline=timezone.now() + timedelta(days=3), by=office,
    )  # fmt: skip
    progress = wait_for(
        lambda: (p := selectors.job_progress(job))["settled"] and p, what="settled", timeout=30
    )
    assert (progress["state"], progress["delivered"], progress["percent"]) == ("completed", 3, 100)
    assert len(sandbox.messages()) == 3
