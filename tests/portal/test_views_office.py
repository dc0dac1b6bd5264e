"""The placement office's pages through Django's test client: the registration queue, posting
a job with its live progress, moving applications, the SMS history and its chart.

What a service sends is read from the SMSLog rows it writes; the progress of a job's bulk is
followed with a real worker (celery_worker) delivering through the locmem backend.
"""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import SMSLog
from notifications.selectors import DailyDelivery
from portal import services
from portal.models import Application, JobPosting, StudentProfile
from portal.views.chart import daily_chart, nice_ceiling
from tests.helpers import wait_for
from tests.portal.html import by_id, field, field_error, options, parse, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, staff_user):
    client.force_login(staff_user)
    return client


def job_form(seeded, **changes) -> dict:
    deadline = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    return {
        "company": "Contoso",
        "title": "Data Analyst",
        "description": "SQL and Python.",
        "departments": [seeded["CSE"].pk, seeded["IT"].pk],
        "min_graduation_year": 2026,
        "deadline": deadline,
        **changes,
    }


def status_form(application, status: str, current: str | None = None) -> dict:
    prefix = f"application-{application.pk}"
    return {f"{prefix}-current": current or application.status, f"{prefix}-status": status}


# --- Pages ------------------------------------------------------------------------------------


def test_every_office_page_renders(office, make_student, make_job):
    job = make_job()
    services.application_create(student=make_student(), job=job)
    for name, args, title in [
        ("portal:office", [], "Placement office"),
        ("portal:office-students", [], "Registrations to review"),
        ("portal:office-jobs", [], "Graduate Engineer"),
        ("portal:office-job-new", [], "Post a job"),
        ("portal:office-job", [job.pk], "Graduate Engineer"),
        ("portal:office-notifications", [], "SMS sent by the portal"),
    ]:
        response = office.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert title in response.content.decode(), name


def test_the_office_home_counts_registrations_jobs_and_applications(office, make_student, make_job):
    make_student(approved=False)
    student = make_student()
    services.application_create(student=student, job=make_job())
    response = office.get(reverse("portal:office"))
    counts = {
        e["attrs"]["data-testid"]: " ".join(e["text"].split())
        for e in parse(response)
        if e["attrs"].get("data-testid", "").startswith("count-")
    }
    assert counts["count-pending"].startswith("1 registrations to review")
    assert counts["count-approved"].startswith("1 approved")
    assert counts["count-open-jobs"].startswith("1 open jobs")
    assert "Applied 1" in text_of(response, "applications-by-status")


# --- The registration queue ---------------------------------------------------------------------


def test_the_queue_lists_pending_registrations_only(office, make_student):
    make_student("Asha Rao", approved=False)
    make_student("Ravi Kumar")
    table = text_of(office.get(reverse("portal:office-students")), "pending-students")
    assert "Asha Rao" in table and "Ravi Kumar" not in table and "+9198******" in table


def test_approving_tells_the_student_once_however_often_it_is_clicked(office, make_student):
    student = make_student("Asha Rao", approved=False)
    url = reverse("portal:office-student-approve", args=[student.pk])
    first, second = office.post(url), office.post(url)
    assert first["Location"] == second["Location"] == reverse("portal:office-students")
    assert StudentProfile.objects.get(pk=student.pk).is_approved
    [message] = SMSLog.objects.filter(to=student.phone)
    assert message.metadata["event"] == "registration_approved"
    page = office.get(reverse("portal:office-students"))
    assert "Asha Rao is approved; an SMS tells them." in page.content.decode()
    assert by_id(page, "pending-students") is None


def test_rejecting_removes_the_registration_and_tells_the_student_once(office, make_student):
    student = make_student("Asha Rao", approved=False)
    url = reverse("portal:office-student-reject", args=[student.pk])
    assert office.post(url).status_code == 302
    page = office.get(reverse("portal:office-students"))
    assert "The registration of Asha Rao is rejected and removed" in page.content.decode()
    again = office.get(office.post(url)["Location"])
    assert "This registration was already rejected and removed." in again.content.decode()
    assert not StudentProfile.objects.filter(pk=student.pk).exists()
    [message] = SMSLog.objects.filter(to=student.phone)
    assert message.metadata["event"] == "registration_rejected"


def test_approving_a_rejected_registration_says_so(office, make_student):
    student = make_student(approved=False)
    office.post(reverse("portal:office-student-reject", args=[student.pk]))
    response = office.post(reverse("portal:office-student-approve", args=[student.pk]))
    page = office.get(response["Location"]).content.decode()
    assert "This registration no longer exists: it was rejected." in page
    assert SMSLog.objects.filter(to=student.phone).count() == 1


def test_rejecting_an_approved_student_is_refused_with_a_message(office, make_student):
    student = make_student("Asha Rao")
    response = office.post(reverse("portal:office-student-reject", args=[student.pk]))
    assert "Asha Rao is already approved." in office.get(response["Location"]).content.decode()
    assert StudentProfile.objects.filter(pk=student.pk).exists()
    assert not SMSLog.objects.exists()


def test_the_queue_offers_approve_and_a_confirmed_reject_by_post(office, make_student):
    student = make_student("Asha Rao", approved=False)
    page = office.get(reverse("portal:office-students")).content.decode()
    approve = reverse("portal:office-student-approve", args=[student.pk])
    reject = reverse("portal:office-student-reject", args=[student.pk])
    assert f'<form method="post" action="{approve}"' in page
    assert f'<form method="post" action="{reject}"' in page
    assert "Confirm: reject and remove" in page
    assert office.get(approve).status_code == 405


# --- Posting a job ------------------------------------------------------------------------------


def test_posting_a_job_announces_it_to_every_eligible_student_and_no_one_else(
    office, departments, make_student
):
    eligible = [make_student(department="CSE"), make_student(department="IT", graduation_year=2027)]
    others = [
        make_student(department="ME"),
        make_student(department="CSE", graduation_year=2025),
        make_student(department="CSE", approved=False),
    ]
    response = office.post(reverse("portal:office-job-new"), job_form(departments))
    job = JobPosting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:office-job", args=[job.pk])
    told = set(SMSLog.objects.filter(reference=f"portal:job:{job.pk}").values_list("to", flat=True))
    assert told == {student.phone for student in eligible}
    assert not SMSLog.objects.filter(to__in=[s.phone for s in others]).exists()
    page = office.get(response["Location"])
    assert "The job is posted" in page.content.decode()
    bar = by_id(page, "bulk-progress")["attrs"]
    assert bar["role"] == "progressbar"
    assert (bar["aria-valuemin"], bar["aria-valuemax"], bar["aria-valuenow"]) == ("0", "100", "0")
    assert bar["aria-valuetext"] == text_of(page, "bulk-progress-text")
    assert bar["aria-valuetext"].startswith("0 of 2 handed to the SMS provider")
    assert bar["data-url"] == reverse("portal:office-job-progress", args=[job.pk])


def test_posting_the_same_job_twice_keeps_one_and_announces_it_once(
    office, departments, make_student
):
    make_student(department="CSE")
    data = job_form(departments)
    first = office.post(reverse("portal:office-job-new"), data)
    second = office.post(reverse("portal:office-job-new"), data)
    job = JobPosting.objects.get()
    assert first["Location"] == second["Location"] == reverse("portal:office-job", args=[job.pk])
    assert "This job was already posted" in office.get(second["Location"]).content.decode()
    assert SMSLog.objects.count() == 1


def test_a_job_nobody_is_eligible_for_is_a_form_error_and_the_form_is_kept(
    office, departments, make_student
):
    make_student(department="ME")
    response = office.post(reverse("portal:office-job-new"), job_form(departments))
    assert response.status_code == 400
    assert field_error(response, "departments") == (
        "No approved student of these departments graduates in 2026 or later: nobody would be "
        "told of this job."
    )
    assert field(response, "company")["value"] == "Contoso"
    assert field(response, "min_graduation_year")["value"] == "2026"
    checked = [
        e["attrs"]["value"]
        for e in parse(response)
        if e["attrs"].get("name") == "departments" and "checked" in e["attrs"]
    ]
    assert checked == [str(departments["CSE"].pk), str(departments["IT"].pk)]
    assert not JobPosting.objects.exists() and not SMSLog.objects.exists()


@pytest.mark.parametrize(
    ("changes", "name", "error"),
    [
        ({"deadline": "2001-01-01T10:00"}, "deadline", "The deadline must be in the future."),
        ({"deadline": "next week"}, "deadline", "Give a date and time, e.g. 2026-05-31 17:00."),
        ({"departments": []}, "departments", "Choose at least one department."),
        ({"company": ""}, "company", "This field is required."),
        ({"min_graduation_year": "soon"}, "min_graduation_year",
         "Give the year as four digits, e.g. 2026."),
    ],
    ids=["past-deadline", "bad-deadline", "no-department", "no-company", "bad-year"],
)  # fmt: skip
def test_bad_job_input_is_shown_on_its_field(office, departments, changes, name, error):
    response = office.post(reverse("portal:office-job-new"), job_form(departments, **changes))
    assert response.status_code == 400
    assert field_error(response, name) == error
    if name != "title":
        assert field(response, "title")["value"] == "Data Analyst"
    assert not JobPosting.objects.exists()


# --- The job page's progress ----------------------------------------------------------------------


def test_the_progress_json_of_a_job_without_an_announcement(office, make_job):
    job = make_job()
    data = office.get(reverse("portal:office-job-progress", args=[job.pk])).json()
    assert data["finished"] is True and data["total"] == 0 and data["percent"] == 100


@pytest.mark.integration
def test_the_progress_json_follows_the_announcement_until_it_is_handed_over(
    celery_worker, office, departments, make_student
):
    students = [make_student(department="CSE") for _ in range(3)]
    office.post(reverse("portal:office-job-new"), job_form(departments))
    job = JobPosting.objects.get()
    url = reverse("portal:office-job-progress", args=[job.pk])
    first = office.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert first.json()["total"] == 3
    done = wait_for(
        lambda: (data := office.get(url).json())["finished"] and data, what="the bulk handed over"
    )
    assert (done["done"], done["percent"], done["remaining"]) == (3, 100, 0)
    assert done["text"].startswith("3 of 3 handed to the SMS provider")
    assert SMSLog.objects.filter(to__in=[s.phone for s in students], status="sent").count() == 3
    page = office.get(reverse("portal:office-job", args=[job.pk]))
    assert by_id(page, "bulk-progress")["attrs"]["aria-valuenow"] == "100"


# --- Moving applications ------------------------------------------------------------------------


@pytest.fixture
def application(make_student, make_job):
    return services.application_create(student=make_student("Asha Rao"), job=make_job())


def test_each_application_offers_only_its_allowed_next_statuses(office, application, staff_user):
    url = reverse("portal:office-job", args=[application.job_id])
    name = f"application-{application.pk}-status"
    assert options(office.get(url), name) == ["", "shortlisted", "rejected"]
    services.application_change_status(
        application=application, to_status="shortlisted", by=staff_user
    )
    assert options(office.get(url), name) == ["", "interview", "rejected"]
    services.application_change_status(application=application, to_status="rejected", by=staff_user)
    page = office.get(url)
    assert options(page, name) == [] and "Final" in text_of(page, f"application-{application.pk}")


def test_moving_an_application_tells_the_student_once_however_often_it_is_clicked(
    office, application
):
    url = reverse("portal:office-application-status", args=[application.pk])
    first = office.post(url, status_form(application, "shortlisted"))
    second = office.post(url, status_form(application, "shortlisted"))  # from the same page
    target = reverse("portal:office-job", args=[application.job_id])
    assert first["Location"] == second["Location"] == f"{target}#application-{application.pk}"
    assert Application.objects.get(pk=application.pk).status == "shortlisted"
    statuses = SMSLog.objects.filter(metadata__event="application_status")
    assert [m.metadata["status"] for m in statuses] == ["shortlisted"]
    page = office.get(target).content.decode()
    assert "Asha Rao&#x27;s application is shortlisted; an SMS tells them." in page


def test_a_status_that_skips_the_order_is_refused_next_to_the_field(office, application):
    url = reverse("portal:office-application-status", args=[application.pk])
    response = office.post(url, status_form(application, "selected"))
    assert response.status_code == 400
    assert field_error(response, f"application-{application.pk}-status") == (
        "An application that is applied can move to shortlisted or rejected next, not to selected."
    )
    assert Application.objects.get(pk=application.pk).status == "applied"
    assert not SMSLog.objects.filter(metadata__event="application_status").exists()


def test_a_change_posted_from_an_out_of_date_page_is_refused_with_what_happened(
    office, application, staff_user
):
    services.application_change_status(
        application=application, to_status="shortlisted", by=staff_user
    )
    url = reverse("portal:office-application-status", args=[application.pk])
    response = office.post(url, status_form(application, "rejected", current="applied"))
    assert response.status_code == 400
    assert field_error(response, f"application-{application.pk}-status") == (
        "This application is shortlisted now: it changed after this page was loaded, and nothing "
        "was changed or sent. Choose again."
    )
    assert Application.objects.get(pk=application.pk).status == "shortlisted"
    assert SMSLog.objects.filter(metadata__event="application_status").count() == 1


def test_a_final_application_refuses_every_change(office, application, staff_user):
    services.application_change_status(application=application, to_status="rejected", by=staff_user)
    url = reverse("portal:office-application-status", args=[application.pk])
    response = office.post(url, status_form(application, "shortlisted", current="rejected"))
    assert response.status_code == 400
    assert "that is final" in field_error(response, f"application-{application.pk}-status")


def test_no_status_chosen_is_a_field_error(office, application):
    url = reverse("portal:office-application-status", args=[application.pk])
    response = office.post(url, status_form(application, ""))
    assert response.status_code == 400
    assert field_error(response, f"application-{application.pk}-status") == "Choose the new status."


# --- The SMS page and its chart ----------------------------------------------------------------


def test_the_sms_page_with_no_sms_draws_an_empty_chart_and_a_table_of_zeros(office):
    response = office.get(reverse("portal:office-notifications"))
    assert response.status_code == 200
    elements = parse(response)
    assert [e for e in elements if e["tag"] == "svg"][0]["attrs"]["aria-hidden"] == "true"
    assert not [e for e in elements if e["tag"] in ("rect", "polyline", "circle")]
    rows = text_of(response, "sms-per-day")
    assert rows.count(" 0 0 0 no outcome yet") == 14
    assert "The portal has sent no SMS yet." in response.content.decode()


def test_the_sms_page_charts_sends_and_delivery_rate_and_lists_the_history(
    office, make_student, staff_user
):
    students = [make_student(approved=False) for _ in range(4)]
    for student in students:
        services.student_approve(profile=student, by=staff_user)
    phones = [s.phone for s in students]
    SMSLog.objects.filter(to__in=phones[:3]).update(status="delivered", delivered_at=timezone.now())
    SMSLog.objects.filter(to=phones[3]).update(status="failed", error_code="30003")
    response = office.get(reverse("portal:office-notifications"))
    elements = parse(response)
    [bar] = [e for e in elements if e["tag"] == "rect"]
    assert bar["text"].strip().endswith("4 sent")
    assert len([e for e in elements if e["tag"] == "circle"]) == 1
    today = timezone.now().date()
    rows = text_of(response, "sms-per-day")
    assert f"{today:%-d %B %Y} 4 3 1 75 %" in rows
    history = text_of(response, "office-sms")
    assert history.count("Registration approved") == 4 and "error 30003" in history
    assert "Sent: 4 Delivered: 3 On the way: 0 Failed: 1" in text_of(response, "sms-outcomes")


def day(offset: int, sent: int, delivered: int = 0, failed: int = 0) -> DailyDelivery:
    return DailyDelivery(date(2026, 3, 1) + timedelta(days=offset), sent, delivered, failed)


def test_the_chart_breaks_the_rate_line_on_days_without_an_outcome():
    chart = daily_chart([day(0, 4, 3, 1), day(1, 2), day(2, 0), day(3, 5, 5), day(4, 6, 3, 3)])
    assert [bar.rate_percent for bar in chart.bars] == [75, None, None, 100, 50]
    assert len(chart.rate_lines) == 2 and len(chart.rate_points) == 3
    assert [tick.label for tick in chart.sends_ticks] == ["0", "5", "10"]
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.sent == 6 and tallest.y >= chart.plot_top
    assert chart.bars[2].height == 0
    assert (chart.total_sent, chart.total_delivered, chart.total_failed) == (17, 11, 4)


def test_the_chart_of_days_without_any_sms_has_no_bars_and_no_line():
    chart = daily_chart([day(offset, 0) for offset in range(14)])
    assert all(bar.height == 0 for bar in chart.bars)
    assert chart.rate_lines == [] and chart.rate_points == []
    assert [tick.label for tick in chart.sends_ticks] == ["0", "1"]
    labelled = [bar.day.day for bar in chart.bars if bar.labelled]
    assert labelled == [2, 4, 6, 8, 10, 12, 14]  # the last day (today) always has its date


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20),
                                                 (99, 100), (101, 200), (2500, 5000)])  # fmt: skip
def test_the_chart_axis_ends_on_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling
