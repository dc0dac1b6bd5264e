"""The office's decisions, jobs and applications: each write and its one SMS (text from the
template with the portal's name, idempotency key, `portal:` reference, metadata of ids); double
calls send nothing more; refusals write and send nothing. Integration tests go through the
real queue to the sandbox."""

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import BulkSend, SMSLog
from portal import services
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
)
from portal.messages import format_deadline
from portal.models import Application, ApplicationStatusChange, JobPosting, StudentProfile
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db
Status = Application.Status


@pytest.fixture
def office(django_user_model):
    return django_user_model.objects.create_user("office", password="pw-office-123", is_staff=True)


def only_sms(reference: str) -> SMSLog:
    [message] = SMSLog.objects.filter(reference=reference)
    return message


def post(departments, *, title="Graduate Engineer", year=2026, by=None, days=7):
    return services.job_post(
        company="Northwind Systems",
        title=title,
        description="Build things.",
        departments=departments,
        min_graduation_year=year,
        deadline=timezone.now().replace(microsecond=0) + timedelta(days=days),
        by=by,
    )


# --- Approving and rejecting registrations ----------------------------------------------------


def test_approving_a_student_records_who_and_when_and_tells_the_student(make_student, office):
    student = make_student("Asha Rao", approved=False)
    approved = services.student_approve(profile=student, by=office)
    student.refresh_from_db()
    assert student.is_approved and student.approved_by == office and student.approved_at
    assert approved == student
    message = only_sms(f"portal:student:{student.pk}")
    assert message.to == student.phone
    assert message.body == (
        "Placement Portal: Hi Asha Rao, your registration is approved. Log in to see the jobs "
        "open to you and apply."
    )
    assert message.idempotency_key == f"portal:student:{student.pk}:approved"
    assert message.metadata == {"event": "registration_approved", "student": student.pk}


def test_approving_twice_keeps_the_first_approval_and_sends_one_sms(
    make_student, office, django_user_model
):
    student = make_student(approved=False)
    first = services.student_approve(profile=student, by=office)
    other = django_user_model.objects.create_user("other", password="pw-other-123", is_staff=True)
    again = services.student_approve(profile=student, by=other)
    assert (again.approved_by, again.approved_at) == (office, first.approved_at)
    assert SMSLog.objects.count() == 1


def test_approving_a_rejected_registration_is_refused(make_student, office):
    student = make_student(approved=False)
    services.student_reject(profile=student, by=office)
    with pytest.raises(StudentNotFound):
        services.student_approve(profile=student, by=office)
    assert SMSLog.objects.filter(metadata__event="registration_approved").count() == 0


def test_rejecting_tells_the_student_then_removes_the_registration_and_its_user(
    make_student, office, django_user_model
):
    student = make_student("Ravi Kumar", approved=False)
    student_id, user_id = student.pk, student.user_id
    services.student_reject(profile=student, by=office)
    assert not StudentProfile.objects.filter(pk=student_id).exists()
    assert not django_user_model.objects.filter(pk=user_id).exists()
    message = only_sms(f"portal:student:{student_id}")
    assert message.body.startswith("Placement Portal: Hi Ravi Kumar, your registration was not")
    assert message.idempotency_key == f"portal:student:{student_id}:rejected"
    assert message.metadata == {"event": "registration_rejected", "student": student_id}


def test_rejecting_twice_sends_one_sms(make_student, office):
    student = make_student(approved=False)
    services.student_reject(profile=student, by=office)
    services.student_reject(profile=student, by=office)
    assert SMSLog.objects.count() == 1


def test_an_approved_student_is_not_rejected(make_student, office):
    student = make_student(approved=True)
    with pytest.raises(AlreadyApproved):
        services.student_reject(profile=student, by=office)
    assert StudentProfile.objects.filter(pk=student.pk).exists()
    assert SMSLog.objects.count() == 0


# --- Profile ------------------------------------------------------------------------------------


def test_a_student_updates_the_name(make_student, departments):
    student = make_student("Asha", approved=True)
    updated = services.profile_update(
        profile=student, full_name=" Asha Rao ", department=departments["CSE"], graduation_year=2026
    )
    assert StudentProfile.objects.get(pk=student.pk).full_name == updated.full_name == "Asha Rao"


def test_a_pending_student_may_change_department_and_year(make_student, departments):
    student = make_student(approved=False)
    services.profile_update(
        profile=student, full_name="Asha", department=departments["IT"], graduation_year=2027
    )
    student.refresh_from_db()
    assert (student.department.code, student.graduation_year) == ("IT", 2027)


@pytest.mark.parametrize(
    ("department", "year", "field"), [("IT", 2026, "department"), ("CSE", 2030, "graduation_year")]
)
def test_an_approved_student_cannot_change_what_decides_eligibility(
    make_student, departments, department, year, field
):
    student = make_student(approved=True)
    with pytest.raises(ProfileLocked) as caught:
        services.profile_update(
            profile=student,
            full_name="Asha",
            department=departments[department],
            graduation_year=year,
        )
    assert caught.value.field == field
    student.refresh_from_db()
    assert (student.department.code, student.graduation_year) == ("CSE", 2026)


@pytest.mark.parametrize("name", ["  ", "A" * 71])
def test_an_empty_or_too_long_name_is_refused(make_student, departments, name):
    student = make_student()
    with pytest.raises(PortalError) as caught:
        services.profile_update(
            profile=student, full_name=name, department=departments["CSE"], graduation_year=2026
        )
    assert caught.value.field == "full_name"


# --- Posting jobs -------------------------------------------------------------------------------


def test_a_job_is_announced_to_every_eligible_student_and_no_one_else(
    make_student, departments, office
):
    eligible = [
        make_student("A", department="CSE", graduation_year=2026),
        make_student("B", department="IT", graduation_year=2027),
    ]
    make_student("Other department", department="ME", graduation_year=2026)
    make_student("Graduates earlier", department="CSE", graduation_year=2025)
    make_student("Not approved", department="CSE", approved=False)
    unverified = make_student("Unverified", department="CSE")
    StudentProfile.objects.filter(pk=unverified.pk).update(phone_verified=False)

    job = post([departments["CSE"], departments["IT"]], by=office)

    bulk = BulkSend.objects.get()
    assert job.announcement_bulk_id == bulk.id
    assert sorted(SMSLog.objects.filter(bulk=bulk).values_list("to", flat=True)) == sorted(
        s.phone for s in eligible
    )
    assert bulk.body == (
        f"Placement Portal: Northwind Systems is hiring: Graduate Engineer. Apply by "
        f"{format_deadline(job.deadline)}. Log in to see the details."
    )
    assert (bulk.idempotency_key, bulk.reference) == (
        f"portal:job:{job.pk}:posted",
        f"portal:job:{job.pk}",
    )
    assert bulk.metadata == {"event": "job_posted", "job": job.pk} and bulk.created_by == office
    assert set(job.departments.values_list("code", flat=True)) == {"CSE", "IT"}
    assert (job.posted_by, job.is_open) == (office, True)


def test_a_job_nobody_is_eligible_for_is_refused_and_nothing_is_written(
    make_student, departments, office
):
    make_student(department="ME")
    with pytest.raises(NoEligibleStudents) as caught:
        post([departments["CSE"]], by=office)
    assert caught.value.field == "departments"
    assert not JobPosting.objects.exists() and not BulkSend.objects.exists()


def test_posting_the_same_job_twice_keeps_the_first_and_announces_it_once(
    make_student, departments, office
):
    make_student()
    deadline = timezone.now() + timedelta(days=7)
    arguments = {
        "company": "Northwind Systems",
        "title": "SDE",
        "description": "",
        "departments": [departments["CSE"]],
        "min_graduation_year": 2026,
        "deadline": deadline,
        "by": office,
    }
    first = services.job_post(**arguments)
    with pytest.raises(JobAlreadyPosted) as caught:
        services.job_post(**arguments)
    assert caught.value.job == first
    assert JobPosting.objects.count() == BulkSend.objects.count() == 1


@pytest.mark.parametrize(("field", "value"), [("company", "C" * 61), ("title", "T" * 81)])
def test_a_company_or_title_longer_than_stored_is_refused_on_its_field(
    make_student, departments, office, field, value
):
    make_student()
    arguments = {"company": "Northwind", "title": "SDE", field: value}
    with pytest.raises(PortalError) as caught:
        services.job_post(
            **arguments, description="", departments=[departments["CSE"]],
            min_graduation_year=2026, deadline=timezone.now() + timedelta(days=1), by=office,
        )  # fmt: skip
    assert caught.value.field == field and "at most" in caught.value.message
    assert not JobPosting.objects.exists()


def test_a_job_needs_a_future_deadline_and_a_department(make_student, departments, office):
    make_student()
    with pytest.raises(PortalError) as caught:
        post([departments["CSE"]], by=office, days=-1)
    assert caught.value.field == "deadline"
    with pytest.raises(PortalError) as caught:
        post([], by=office)
    assert caught.value.field == "departments"
    assert not JobPosting.objects.exists() and not SMSLog.objects.exists()


def test_closing_a_job_stops_applications_and_closing_again_changes_nothing(
    make_student, make_job, office
):
    student, job = make_student(), make_job()
    assert services.job_close(job=job, by=office).is_open is False
    assert services.job_close(job=job, by=office).is_open is False
    with pytest.raises(ApplicationsClosed):
        services.application_create(student=student, job=job)


# --- Applying -----------------------------------------------------------------------------------


def test_applying_records_the_application_its_history_and_tells_the_student(make_student, make_job):
    student = make_student("Asha Rao")
    job = make_job("Graduate Engineer", company="Northwind Systems")
    application = services.application_create(student=student, job=job)
    assert (application.student, application.job, application.status) == (student, job, "applied")
    [entry] = ApplicationStatusChange.objects.filter(application=application)
    assert (entry.from_status, entry.to_status, entry.changed_by) == ("", "applied", student.user)
    message = only_sms(f"portal:application:{application.pk}")
    assert message.body == (
        "Placement Portal: Hi Asha Rao, we received your application for Graduate Engineer at "
        "Northwind Systems."
    )
    assert message.idempotency_key == f"portal:application:{application.pk}:received"
    assert message.metadata == {
        "event": "application_received",
        "application": application.pk,
        "job": job.pk,
        "student": student.pk,
    }


def test_applying_twice_is_refused_and_sends_nothing_more(make_student, make_job):
    student, job = make_student(), make_job()
    services.application_create(student=student, job=job)
    with pytest.raises(AlreadyApplied):
        services.application_create(student=student, job=job)
    assert Application.objects.count() == SMSLog.objects.count() == 1


@pytest.mark.parametrize(
    ("job_arguments", "student_arguments", "error"),
    [
        ({"deadline_in": timedelta(seconds=-1)}, {}, ApplicationsClosed),
        ({"is_open": False}, {}, ApplicationsClosed),
        ({"open_to": ("ME",)}, {}, NotEligible),
        ({"min_graduation_year": 2027}, {}, NotEligible),
        ({}, {"approved": False}, NotApproved),
    ],
    ids=["after-the-deadline", "closed", "other-department", "graduates-too-early", "pending"],
)
def test_an_application_that_breaks_a_rule_is_refused_and_nothing_is_sent(
    make_student, make_job, job_arguments, student_arguments, error
):
    student, job = make_student(**student_arguments), make_job(**job_arguments)
    with pytest.raises(error):
        services.application_create(student=student, job=job)
    assert not Application.objects.exists() and not SMSLog.objects.exists()


def test_two_simultaneous_submits_make_one_application_and_one_sms(
    transactional_db, make_student, make_job
):
    student, job = make_student(), make_job()
    outcomes = run_together(lambda: services.application_create(student=student, job=job))
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyApplied", "Application"]
    assert Application.objects.count() == SMSLog.objects.count() == 1


def run_together(call, times: int = 2) -> list:
    """Run `call` in `times` threads released at once; each one's result or exception."""
    barrier, outcomes = threading.Barrier(times), []

    def run():
        barrier.wait()
        try:
            outcomes.append(call())
        except Exception as exc:  # noqa: BLE001 (the outcome under test)
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


# --- Moving applications ------------------------------------------------------------------------


@pytest.fixture
def application(make_student, make_job):
    student = make_student("Asha Rao")
    job = make_job("Graduate Engineer", company="Northwind Systems")
    return Application.objects.create(student=student, job=job)


def test_an_application_moves_through_every_stage_telling_the_student_each_time(
    application, office
):
    for status in (Status.SHORTLISTED, Status.INTERVIEW, Status.SELECTED):
        moved = services.application_change_status(
            application=application, to_status=status, by=office
        )
        assert moved.status == status == Application.objects.get(pk=application.pk).status
    history = ApplicationStatusChange.objects.filter(application=application)
    assert [(h.from_status, h.to_status, h.changed_by) for h in history] == [
        ("applied", "shortlisted", office),
        ("shortlisted", "interview", office),
        ("interview", "selected", office),
    ]
    messages = SMSLog.objects.filter(reference=f"portal:application:{application.pk}")
    assert sorted(messages.values_list("idempotency_key", flat=True)) == [
        f"portal:application:{application.pk}:status:{s}"
        for s in ("interview", "selected", "shortlisted")
    ]
    last = messages.get(idempotency_key__endswith=":selected")
    assert last.body == (
        "Placement Portal: Hi Asha Rao, your application for Graduate Engineer at Northwind "
        "Systems is now: Selected."
    )
    assert last.metadata == {
        "event": "application_status",
        "application": application.pk,
        "job": application.job_id,
        "student": application.student_id,
        "status": "selected",
    }


def test_an_application_may_be_rejected_at_any_stage(application, office):
    services.application_change_status(application=application, to_status="shortlisted", by=office)
    moved = services.application_change_status(
        application=application, to_status="rejected", by=office
    )
    assert moved.status == "rejected"
    assert SMSLog.objects.filter(body__endswith="is now: Rejected.").count() == 1


ALLOWED_AFTER_APPLIED = "An application that is Applied can only move to Shortlisted or Rejected."


@pytest.mark.parametrize(
    ("start", "target", "message", "allowed"),
    [
        ("applied", "interview", ALLOWED_AFTER_APPLIED, ["shortlisted", "rejected"]),
        ("applied", "selected", ALLOWED_AFTER_APPLIED, ["shortlisted", "rejected"]),
        ("shortlisted", "applied",
         "An application that is Shortlisted can only move to Interview or Rejected.",
         ["interview", "rejected"]),
        ("selected", "rejected",
         "This application is final (Selected): its status no longer changes.", []),
        ("rejected", "shortlisted",
         "This application is final (Rejected): its status no longer changes.", []),
        ("applied", "hired", "“hired” is not a status.", []),
    ],
)  # fmt: skip
def test_a_change_that_skips_the_order_is_refused_naming_what_is_allowed(
    application, office, start, target, message, allowed
):
    Application.objects.filter(pk=application.pk).update(status=start)
    with pytest.raises(StatusChangeNotAllowed) as caught:
        services.application_change_status(application=application, to_status=target, by=office)
    assert (caught.value.message, caught.value.allowed) == (message, allowed)
    assert caught.value.field == "status"
    assert Application.objects.get(pk=application.pk).status == start
    assert not SMSLog.objects.exists() and not ApplicationStatusChange.objects.exists()


def test_a_double_click_on_a_status_changes_it_once_and_sends_one_sms(application, office):
    for _ in range(2):
        services.application_change_status(
            application=application, to_status="shortlisted", by=office
        )
    assert ApplicationStatusChange.objects.filter(application=application).count() == 1
    assert SMSLog.objects.count() == 1


def test_two_simultaneous_changes_apply_once(transactional_db, application, office):
    outcomes = run_together(
        lambda: services.application_change_status(
            application=application, to_status="shortlisted", by=office
        )
    )
    assert [type(o).__name__ for o in outcomes] == ["Application", "Application"]
    assert ApplicationStatusChange.objects.filter(application=application).count() == 1
    assert SMSLog.objects.count() == 1


def test_two_simultaneous_different_changes_never_break_the_order(
    transactional_db, make_student, make_job, office
):
    application = Application.objects.create(student=make_student(), job=make_job())
    targets = iter(["shortlisted", "rejected"])
    lock = threading.Lock()

    def change():
        with lock:
            target = next(targets)
        return services.application_change_status(
            application=application, to_status=target, by=office
        )

    outcomes = run_together(change)
    final = Application.objects.get(pk=application.pk).status
    history = list(ApplicationStatusChange.objects.values_list("from_status", "to_status"))
    # Whichever came first applied; the other followed it if the order allows (shortlisted →
    # rejected) or was refused (rejected is final; or it lost the race on "applied").
    assert history[0][0] == "applied" and history[-1][1] == final
    assert all(before[1] == after[0] for before, after in itertools.pairwise(history))
    refused = [o for o in outcomes if isinstance(o, StatusChangeNotAllowed)]
    assert len(history) + len(refused) == 2
    assert SMSLog.objects.count() == len(history)


# --- Through the real queue to the sandbox ------------------------------------------------------


@pytest.mark.integration
def test_a_posted_job_reaches_every_eligible_phone_and_no_other(
    celery_worker, sandbox, make_student, departments, office
):
    eligible = [make_student("A", department="CSE"), make_student("B", department="ECE")]
    others = [make_student("C", department="ME"), make_student("D", approved=False)]
    job = post([departments["CSE"], departments["ECE"]], by=office)
    wait_for(lambda: len(sandbox.messages()) >= 2, what="both announcements in the inbox")
    received = {m["to"]: m["body"] for m in sandbox.messages()}
    assert set(received) == {s.phone for s in eligible}
    assert all("Northwind Systems is hiring: Graduate Engineer" in b for b in received.values())
    assert not {s.phone for s in others} & set(received)
    assert job.announcement_bulk_id


@pytest.mark.integration
def test_a_status_change_reaches_the_students_phone(
    celery_worker, sandbox, make_student, make_job, office
):
    student = make_student("Asha Rao")
    application = Application.objects.create(student=student, job=make_job("SDE"))
    services.application_change_status(application=application, to_status="shortlisted", by=office)
    [received] = wait_for(lambda: sandbox.messages(to=student.phone), what="the SMS in the inbox")
    assert received["body"].endswith(
        "your application for SDE at Northwind Systems is now: Shortlisted."
    )
    message = only_sms(f"portal:application:{application.pk}")
    assert wait_for(lambda: SMSLog.objects.get(pk=message.pk).provider_sid) == received["sid"]
