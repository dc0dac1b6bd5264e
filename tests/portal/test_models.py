"""The portal's records: seeded departments and texts, the status order, the constraints."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from portal import messages
from portal.models import (
    STATUS_TRANSITIONS,
    Application,
    Department,
    JobPosting,
    MessageTemplate,
)

pytestmark = pytest.mark.django_db
Status = Application.Status


def test_the_migration_seeds_the_six_departments():
    assert list(Department.objects.values_list("code", flat=True)) == [
        "CE", "CSE", "ECE", "EE", "IT", "ME"
    ]  # fmt: skip


def test_the_migration_seeds_one_text_per_event_with_its_encoding_and_segments():
    templates = {t.event: t for t in MessageTemplate.objects.all()}
    assert set(templates) == set(MessageTemplate.Event.values)
    for event, template in templates.items():
        assert template.body == messages.DEFAULT_BODIES[event]
        assert (template.encoding, template.segments) == ("GSM-7", 2), event


def test_an_application_moves_one_stage_forward_or_out_and_final_statuses_stay():
    assert STATUS_TRANSITIONS == {
        Status.APPLIED: (Status.SHORTLISTED, Status.REJECTED),
        Status.SHORTLISTED: (Status.INTERVIEW, Status.REJECTED),
        Status.INTERVIEW: (Status.SELECTED, Status.REJECTED),
        Status.SELECTED: (),
        Status.REJECTED: (),
    }


def test_next_statuses_follow_the_table(make_student, make_job):
    application = Application.objects.create(student=make_student(), job=make_job())
    assert application.next_statuses == ["shortlisted", "rejected"]
    application.status = Status.SELECTED
    assert application.next_statuses == []


def test_the_database_refuses_a_second_application_to_the_same_job(make_student, make_job):
    student, job = make_student(), make_job()
    Application.objects.create(student=student, job=job)
    with pytest.raises(IntegrityError):
        Application.objects.create(student=student, job=job)


def test_the_database_refuses_the_same_posting_twice(make_job):
    job = make_job()
    with pytest.raises(IntegrityError):
        JobPosting.objects.create(
            company=job.company, title=job.title, deadline=job.deadline, min_graduation_year=2026
        )


def test_a_job_accepts_applications_only_while_open_and_before_its_deadline(make_job):
    job = make_job()
    assert job.accepts_applications
    job.is_open = False
    assert not job.accepts_applications
    job.is_open, job.deadline = True, timezone.now() - timedelta(seconds=1)
    assert not job.accepts_applications


def test_a_students_phone_is_shown_masked(make_student):
    student = make_student(phone="+919812345610")
    assert student.masked_phone == "+9198******10"
    assert "+919812345610" not in str(student)
