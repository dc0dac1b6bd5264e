"""Who may see which portal page: anonymous people are sent to log in, students never reach the
office's pages or another student's data, the office is sent to its own pages."""

import pytest
from django.urls import reverse

from notifications.models import SMSLog
from portal import services
from portal.models import Application, StudentProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_student, make_job, staff_user):
    """Two approved students, a job, an application of each, and a pending registration."""
    asha, ravi = make_student("Asha Rao"), make_student("Ravi Kumar")
    pending = make_student("Meera Iyer", approved=False)
    job = make_job()
    mine = services.application_create(student=asha, job=job)
    theirs = services.application_create(student=ravi, job=job)
    return {
        "asha": asha,
        "ravi": ravi,
        "pending": pending,
        "job": job,
        "mine": mine,
        "theirs": theirs,
        "staff": staff_user,
    }


def student_pages(world) -> list[str]:
    return [
        reverse("portal:dashboard"),
        reverse("portal:job", args=[world["job"].pk]),
        reverse("portal:applications"),
        reverse("portal:application", args=[world["mine"].pk]),
        reverse("portal:notifications"),
        reverse("portal:profile"),
        reverse("portal:phone"),
    ]


def office_pages(world) -> list[str]:
    return [
        reverse("portal:office"),
        reverse("portal:office-students"),
        reverse("portal:office-jobs"),
        reverse("portal:office-job-new"),
        reverse("portal:office-job", args=[world["job"].pk]),
        reverse("portal:office-job-progress", args=[world["job"].pk]),
        reverse("portal:office-notifications"),
    ]


def office_actions(world) -> list[tuple[str, dict]]:
    return [
        (reverse("portal:office-student-approve", args=[world["pending"].pk]), {}),
        (reverse("portal:office-student-reject", args=[world["pending"].pk]), {}),
        (reverse("portal:office-job-close", args=[world["job"].pk]), {}),
        (
            reverse("portal:office-application-status", args=[world["mine"].pk]),
            {
                f"application-{world['mine'].pk}-current": "applied",
                f"application-{world['mine'].pk}-status": "shortlisted",
            },
        ),
        (
            reverse("portal:office-job-new"),
            {"company": "Contoso", "title": "Analyst", "description": "x",
             "departments": [world["asha"].department_id], "min_graduation_year": 2026,
             "deadline": "2099-01-01T10:00"},
        ),
    ]  # fmt: skip


def test_anonymous_people_are_sent_to_log_in_and_brought_back(client, world):
    for url in student_pages(world) + office_pages(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('portal:login')}?next={url}", url


def test_anonymous_posts_change_nothing_and_send_nothing(client, world):
    sent = SMSLog.objects.count()
    for url, data in office_actions(world):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith(
            reverse("portal:login")
        ), url
    assert SMSLog.objects.count() == sent
    assert StudentProfile.objects.filter(pk=world["pending"].pk, is_approved=False).exists()


def test_a_student_gets_403_on_every_office_page(client, world):
    client.force_login(world["asha"].user)
    for url in office_pages(world):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "This page is for the placement office." in response.content.decode(), url


def test_a_student_cannot_take_any_office_action(client, world):
    client.force_login(world["asha"].user)
    sent = SMSLog.objects.count()
    for url, data in office_actions(world):
        assert client.post(url, data).status_code == 403, url
    assert SMSLog.objects.count() == sent
    assert Application.objects.get(pk=world["mine"].pk).status == "applied"
    assert StudentProfile.objects.filter(pk=world["pending"].pk, is_approved=False).exists()
    assert world["job"].__class__.objects.get(pk=world["job"].pk).is_open


def test_another_students_application_is_a_404(client, world):
    client.force_login(world["asha"].user)
    assert client.get(reverse("portal:application", args=[world["mine"].pk])).status_code == 200
    response = client.get(reverse("portal:application", args=[world["theirs"].pk]))
    assert response.status_code == 404


def test_a_student_sees_only_their_own_applications_and_sms(client, world):
    client.force_login(world["asha"].user)
    for url in (reverse("portal:applications"), reverse("portal:dashboard")):
        page = client.get(url).content.decode()
        assert reverse("portal:application", args=[world["mine"].pk]) in page
        assert reverse("portal:application", args=[world["theirs"].pk]) not in page
    page = client.get(reverse("portal:notifications")).content.decode()
    assert world["asha"].masked_phone in page and "Asha Rao" in page
    assert world["ravi"].masked_phone not in page and "Ravi Kumar" not in page


def test_a_job_page_shows_the_student_their_own_application_only(client, world):
    client.force_login(world["asha"].user)
    page = client.get(reverse("portal:job", args=[world["job"].pk])).content.decode()
    assert "Ravi Kumar" not in page and world["ravi"].roll_number not in page


def test_the_office_is_sent_from_the_student_dashboard_to_its_own(client, world):
    client.force_login(world["staff"])
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:office")


def test_an_account_without_a_student_profile_gets_403_on_student_pages(client, plain_user):
    client.force_login(plain_user)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 403
    assert "This account has no student profile." in response.content.decode()


def test_an_unknown_job_or_application_is_a_404(client, world):
    client.force_login(world["asha"].user)
    assert client.get(reverse("portal:job", args=[999999])).status_code == 404
    assert client.get(reverse("portal:application", args=[999999])).status_code == 404
    client.force_login(world["staff"])
    assert client.get(reverse("portal:office-job", args=[999999])).status_code == 404
    url = reverse("portal:office-application-status", args=[999999])
    assert client.post(url, {}).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world["staff"])
    url = reverse("portal:office-student-approve", args=[world["pending"].pk])
    assert client.post(url).status_code == 403
    assert not StudentProfile.objects.get(pk=world["pending"].pk).is_approved


def test_logging_out_takes_a_post(client, world):
    client.force_login(world["asha"].user)
    assert client.get(reverse("portal:logout")).status_code == 405
    assert client.get(reverse("portal:dashboard")).status_code == 200
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:dashboard")).status_code == 302
