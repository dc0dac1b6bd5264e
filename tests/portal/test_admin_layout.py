"""The portal's admin lists and a job's page stay readable at 1280 px in a real browser."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal import services
from portal.messages import DEFAULT_BODIES
from portal.models import Application, JobPosting, MessageTemplate
from tests.browser import browser_page, clipped, overflow

# The live server's thread must see the rows: they are committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LISTS = ["studentprofile", "jobposting", "application", "messagetemplate", "department"]
LONG_NAME = "Venkata Subrahmanya Lakshmi Narasimha Sai Krishna Chaitanya"


@pytest.fixture
def crowded_portal(make_student, make_job, django_user_model):
    """Students with long names, jobs with long titles, an announced job, applications, and
    the message texts (a flush removed the migration's)."""
    for event, body in DEFAULT_BODIES.items():
        MessageTemplate.objects.get_or_create(event=event, defaults={"body": body})
    office = django_user_model.objects.create_user(
        "office", password="pw-office-123", is_staff=True
    )
    students = [
        make_student(
            f"{LONG_NAME} {i}", department=("CSE", "ECE", "ME")[i % 3], approved=i % 4 != 0
        )
        for i in range(24)
    ]
    jobs = [
        make_job(f"Graduate Embedded Systems and Firmware Engineer Trainee {i}",
                 company="Northwind Industrial Automation Systems Private Limited",
                 open_to=("CSE", "ECE", "ME"), deadline_in=timedelta(days=i + 1))
        for i in range(8)
    ]  # fmt: skip
    services.job_post(
        company="Contoso Heavy Engineering and Power Systems Limited",
        title="Graduate Engineer Trainee, Power Plant Commissioning and Maintenance",
        description="Long description. " * 200, departments=jobs[0].departments.all(),
        min_graduation_year=2026, deadline=timezone.now() + timedelta(days=30), by=office,
    )  # fmt: skip
    for student in students[1:]:
        for job in jobs[:2]:
            Application.objects.create(student=student, job=job, status="shortlisted")


@pytest.fixture
def session_cookie(admin_user, live_server):
    client = Client()
    client.force_login(admin_user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


@pytest.mark.parametrize("model", LISTS)
def test_every_column_of_the_list_fits_a_1280_px_window(
    crowded_portal, session_cookie, live_server, model, tmp_path
):
    with browser_page() as page:
        page.context.add_cookies([session_cookie])
        page.goto(f"{live_server.url}/admin/portal/{model}/")
        page.screenshot(path=tmp_path / f"{model}.png")
        measured = overflow(page, "#result_list")
    assert measured == {"page": 0, "container": 0, "table_right": 0, "hidden_headers": []}


def test_an_announced_jobs_page_fits_a_1280_px_window(
    crowded_portal, session_cookie, live_server, tmp_path
):
    job = JobPosting.objects.exclude(announcement_bulk_id=None).get()
    with browser_page() as page:
        page.context.add_cookies([session_cookie])
        page.goto(f"{live_server.url}/admin/portal/jobposting/{job.pk}/change/")
        page.screenshot(path=tmp_path / "jobposting-detail.png", full_page=True)
        measured = page.evaluate("document.documentElement.scrollWidth"), clipped(page, "#content")
    assert measured == (1280, [])
