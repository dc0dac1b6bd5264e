"""`seed_demo`: the staff user and token as before, plus the portal's demo students, jobs and
applications; idempotent, silent (no SMS), development only."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import BulkSend, SMSLog
from notifications.phone import normalize_phone_number
from portal.models import Application, ApplicationStatusChange, JobPosting, StudentProfile

pytestmark = pytest.mark.django_db
MODELS = (get_user_model(), StudentProfile, JobPosting, Application, ApplicationStatusChange)


def seed(settings) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_it_runs_only_in_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DJANGO_DEBUG=true"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()


def test_it_prints_the_staff_and_student_logins_that_work(settings):
    output = seed(settings)
    assert "Demo staff login   admin / admin" in output
    assert "Demo student login asha / student-demo-1   (Asha Rao, approved)" in output
    assert (
        "Demo student login meera / student-demo-3   (Meera Iyer, waiting for approval)" in output
    )
    assert "Demo API token" in output
    assert authenticate(username="admin", password="admin").is_staff
    assert authenticate(username="asha", password="student-demo-1").student_profile.is_approved


def test_it_seeds_two_approved_students_one_pending_three_jobs_and_applications(settings):
    seed(settings)
    students = StudentProfile.objects.order_by("user__username")
    assert [(s.user.username, s.is_approved, s.phone_verified) for s in students] == [
        ("asha", True, True), ("meera", False, True), ("ravi", True, True)
    ]  # fmt: skip
    phones = [s.phone for s in students]
    assert len(set(phones)) == 3
    assert all(p.startswith("+9198") and normalize_phone_number(p) == p for p in phones)
    jobs = JobPosting.objects.all()
    assert jobs.count() == 3
    assert sum(1 for job in jobs if not job.accepts_applications) == 1
    assert all(job.departments.exists() and job.announcement_bulk_id is None for job in jobs)
    statuses = set(Application.objects.values_list("status", flat=True))
    assert {"applied", "shortlisted", "selected", "rejected"} <= statuses


def test_each_demo_application_has_a_history_that_follows_the_order(settings):
    from portal.models import STATUS_TRANSITIONS

    seed(settings)
    for application in Application.objects.all():
        steps = list(application.history.values_list("from_status", "to_status"))
        assert steps[0] == ("", "applied")
        assert all(after in STATUS_TRANSITIONS[before] for before, after in steps[1:])
        assert steps[-1][1] == application.status
        assert application.student.department in application.job.departments.all()
        assert application.history.last().changed_at <= timezone.now()


def test_running_it_twice_creates_nothing_new_and_it_never_sends_an_sms(settings):
    seed(settings)
    first = counts()
    passwords = dict(get_user_model().objects.values_list("username", "password"))
    output = seed(settings)
    assert counts() == first and "record(s) created" not in output
    assert dict(get_user_model().objects.values_list("username", "password")) == passwords
    assert not SMSLog.objects.exists() and not BulkSend.objects.exists()
