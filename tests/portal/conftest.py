"""Portal fixtures: the seeded departments, and factories for students and jobs.

A test with a real worker (transactional) flushes the database when it ends, data migrations'
rows included: fixtures get_or_create what they need rather than trust the migration's rows.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Department, JobPosting, StudentProfile

DEPARTMENTS = {
    "CSE": "Computer Science and Engineering",
    "ECE": "Electronics and Communication Engineering",
    "ME": "Mechanical Engineering",
    "CE": "Civil Engineering",
    "EE": "Electrical Engineering",
    "IT": "Information Technology",
}
_serial = itertools.count(1)


@pytest.fixture
def departments(db) -> dict[str, Department]:
    """The six departments by code."""
    return {
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEPARTMENTS.items()
    }


@pytest.fixture
def make_student(departments, django_user_model):
    """make_student(name="Asha", department="CSE", graduation_year=2026, approved=True, ...):
    a student with a verified Indian number of its own (+9198765xxxxx) and password
    `pw-student-123`."""

    def make(
        name: str = "Asha Rao",
        *,
        department: str = "CSE",
        graduation_year: int = 2026,
        approved: bool = True,
        phone: str | None = None,
        username: str | None = None,
    ) -> StudentProfile:
        n = next(_serial)
        user = django_user_model.objects.create_user(
            username or f"student{n}", password="pw-student-123"
        )
        return StudentProfile.objects.create(
            user=user,
            full_name=name,
            roll_number=f"R{n:05d}",
            department=departments[department],
            graduation_year=graduation_year,
            phone=phone or f"+9198765{n:05d}",
            phone_verified=True,
            is_approved=approved,
            approved_at=timezone.now() if approved else None,
        )

    return make


@pytest.fixture
def make_job(departments, django_user_model):
    """make_job(open_to=("CSE",), min_graduation_year=2026, deadline_in=timedelta(days=7)):
    a job stored directly (no announcement sent)."""

    def make(
        title: str = "Graduate Engineer",
        *,
        company: str = "Northwind Systems",
        open_to: tuple[str, ...] = ("CSE",),
        min_graduation_year: int = 2026,
        deadline_in: timedelta = timedelta(days=7),
        is_open: bool = True,
    ) -> JobPosting:
        job = JobPosting.objects.create(
            company=company,
            title=title,
            description="",
            min_graduation_year=min_graduation_year,
            deadline=timezone.now() + deadline_in,
            is_open=is_open,
        )
        job.departments.set([departments[code] for code in open_to])
        return job

    return make
