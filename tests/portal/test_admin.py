"""The office's admin: the same decisions through the same services (one SMS each), numbers
masked, jobs posted with their announcement's progress, message texts checked on save."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from notifications.models import BulkSend, SMSLog
from portal import services
from portal.models import Application, JobPosting, MessageTemplate, StudentProfile

pytestmark = pytest.mark.django_db
STUDENTS = "/admin/portal/studentprofile/"
JOBS = "/admin/portal/jobposting/"
APPLICATIONS = "/admin/portal/application/"
TEMPLATES = "/admin/portal/messagetemplate/"
FULL_NUMBER = re.compile(r"\+\d{8,15}")


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def act(client, url, action, objects):
    """Run an admin action on `objects`; returns the messages it left."""
    response = client.post(
        url, {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Students -----------------------------------------------------------------------------------


def test_students_are_listed_and_shown_with_masked_numbers_only(admin_client, make_student):
    student = make_student(phone="+919812345610")
    listing = page(admin_client, STUDENTS)
    detail = page(admin_client, f"{STUDENTS}{student.pk}/change/")
    for html in (listing, detail):
        assert "+9198******10" in html and not FULL_NUMBER.search(html)


def test_a_student_is_found_by_number_in_any_format(admin_client, make_student):
    make_student("Asha", phone="+919812345610")
    make_student("Ravi", phone="+919812345611")
    listing = page(admin_client, STUDENTS, q="098123 45610")
    assert "Asha" in listing and "Ravi" not in listing


def test_approving_from_the_admin_goes_through_the_service(admin_client, admin_user, make_student):
    pending, approved = make_student(approved=False), make_student(approved=True)
    notes = act(admin_client, STUDENTS, "approve", [pending, approved])
    pending.refresh_from_db()
    assert pending.is_approved and pending.approved_by == admin_user
    assert notes == ["1 student(s) approved and told by SMS."]
    assert list(SMSLog.objects.values_list("reference", flat=True)) == [
        f"portal:student:{pending.pk}"
    ]


def test_rejecting_from_the_admin_tells_and_removes_but_keeps_approved_students(
    admin_client, make_student
):
    pending, approved = make_student("Pending", approved=False), make_student("Approved")
    notes = act(admin_client, STUDENTS, "reject", [pending, approved])
    assert list(StudentProfile.objects.all()) == [approved]
    assert notes == [
        "1 registration(s) rejected, told by SMS and removed.",
        "Not rejected: Approved is already approved.",
    ]
    [message] = SMSLog.objects.all()
    assert message.metadata == {"event": "registration_rejected", "student": pending.pk}


def test_students_are_neither_added_nor_deleted_in_the_admin(admin_client, make_student):
    student = make_student()
    assert admin_client.get(f"{STUDENTS}add/").status_code == 403
    assert admin_client.get(f"{STUDENTS}{student.pk}/delete/").status_code == 403


# --- Jobs ---------------------------------------------------------------------------------------


def job_form(departments, **changes) -> dict:
    deadline = timezone.localtime(timezone.now() + timedelta(days=10))
    return {
        "company": "Northwind Systems",
        "title": "Graduate Engineer",
        "description": "Build things.",
        "departments": [departments["CSE"].pk, departments["IT"].pk],
        "min_graduation_year": "2026",
        "deadline_0": deadline.strftime("%Y-%m-%d"),
        "deadline_1": "17:00:00",
        **changes,
    }


def test_adding_a_job_posts_it_and_tells_every_eligible_student(
    admin_client, admin_user, make_student, departments
):
    eligible = [make_student(department="CSE"), make_student(department="IT")]
    make_student(department="ME")
    response = admin_client.post(f"{JOBS}add/", job_form(departments))
    job = JobPosting.objects.get()
    assert response.status_code == 302 and response["Location"] == JOBS
    assert job.posted_by == admin_user and job.announcement_bulk_id
    bulk = BulkSend.objects.get(id=job.announcement_bulk_id)
    assert bulk.reference == f"portal:job:{job.pk}"
    assert sorted(SMSLog.objects.filter(bulk=bulk).values_list("to", flat=True)) == sorted(
        s.phone for s in eligible
    )
    assert set(job.departments.values_list("code", flat=True)) == {"CSE", "IT"}


def test_a_jobs_page_shows_its_announcements_progress_and_follows_it(
    admin_client, make_student, departments
):
    students = [make_student(), make_student()]
    admin_client.post(f"{JOBS}add/", job_form(departments))
    job = JobPosting.objects.get()
    SMSLog.objects.filter(to=students[0].phone).update(status="delivered")
    html = page(admin_client, f"{JOBS}{job.pk}/change/")
    assert '<progress max="2" value="1"' in html
    assert "50% handed over, to 2 student(s): 1 delivered, 1 remaining" in html
    assert f"/admin/notifications/bulksend/{job.announcement_bulk_id}/change/" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert '<td class="field-announced">1/2</td>' in page(admin_client, JOBS)
    BulkSend.objects.update(state="completed")  # all handed over: delivery reports may follow
    assert 'http-equiv="refresh"' not in page(admin_client, f"{JOBS}{job.pk}/change/")


def test_a_job_nobody_is_eligible_for_is_refused_on_the_form(
    admin_client, make_student, departments
):
    make_student(department="ME")
    response = admin_client.post(f"{JOBS}add/", job_form(departments))
    assert response.status_code == 200
    assert "nobody would be told of this job" in response.content.decode()
    assert response.context["adminform"].form.data["company"] == "Northwind Systems"
    assert not JobPosting.objects.exists() and not SMSLog.objects.exists()


def test_a_job_posted_twice_is_refused_on_the_form(admin_client, make_student, departments):
    make_student()
    form = job_form(departments)
    admin_client.post(f"{JOBS}add/", form)
    response = admin_client.post(f"{JOBS}add/", form)
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert JobPosting.objects.count() == BulkSend.objects.count() == 1


def test_a_past_deadline_is_refused_on_the_form(admin_client, make_student, departments):
    make_student()
    response = admin_client.post(f"{JOBS}add/", job_form(departments, deadline_0="2020-01-01"))
    assert "The deadline must be in the future." in response.content.decode()
    assert not JobPosting.objects.exists()


def test_a_posted_job_keeps_what_students_were_told_and_closes(admin_client, make_job):
    job = make_job()
    html = page(admin_client, f"{JOBS}{job.pk}/change/")
    assert 'name="company"' not in html and 'name="description"' in html
    assert "Not announced by SMS" in html
    assert act(admin_client, JOBS, "close", [job]) == ["1 job(s) closed."]
    job.refresh_from_db()
    assert not job.is_open
    assert admin_client.get(f"{JOBS}{job.pk}/delete/").status_code == 403


# --- Applications -------------------------------------------------------------------------------


def test_moving_applications_follows_the_order_and_tells_each_student(
    admin_client, make_student, make_job
):
    job = make_job()
    applied = Application.objects.create(student=make_student("Asha"), job=job)
    later = Application.objects.create(student=make_student("Ravi"), job=job, status="interview")
    notes = act(admin_client, APPLICATIONS, "move_to_shortlisted", [applied, later])
    assert Application.objects.get(pk=applied.pk).status == "shortlisted"
    assert Application.objects.get(pk=later.pk).status == "interview"
    assert notes[0] == "1 application(s) moved to Shortlisted; students told by SMS."
    assert notes[1].startswith("Not moved: Ravi") and notes[1].endswith(
        "An application that is Interview can only move to Selected or Rejected."
    )
    assert list(SMSLog.objects.values_list("idempotency_key", flat=True)) == [
        f"portal:application:{applied.pk}:status:shortlisted"
    ]


def test_an_applications_page_shows_its_history_read_only(
    admin_client, admin_user, make_student, make_job
):
    application = services.application_create(student=make_student(), job=make_job())
    services.application_change_status(
        application=application, to_status="shortlisted", by=admin_user
    )
    html = page(admin_client, f"{APPLICATIONS}{application.pk}/change/")
    assert html.count('<td class="field-to_status">') == 2
    assert "Shortlisted" in html and 'name="_save"' not in html
    assert 'name="history-0-to_status"' not in html
    assert admin_client.get(f"{APPLICATIONS}add/").status_code == 403


# --- Message templates --------------------------------------------------------------------------


def template_url(event: str) -> str:
    return f"{TEMPLATES}{MessageTemplate.objects.get(event=event).pk}/change/"


def test_a_message_text_is_edited_and_measured(admin_client, admin_user):
    url = template_url("registration_approved")
    response = admin_client.post(url, {"body": "{portal}: welcome, {name}!"}, follow=True)
    assert response.status_code == 200
    template = MessageTemplate.objects.get(event="registration_approved")
    assert (template.body, template.updated_by, template.encoding) == (
        "{portal}: welcome, {name}!", admin_user, "GSM-7"
    )  # fmt: skip
    html = page(admin_client, url)
    assert "GSM-7 (160 characters in one segment" in html
    assert "Placement Portal: welcome, Asha Rao!" in html  # the preview
    assert "Placeholders: {portal}, {name}; required: {portal}." in html


def test_a_ucs2_text_is_saved_with_a_warning_naming_its_characters(admin_client):
    response = admin_client.post(
        template_url("registration_approved"), {"body": "{portal}: welcome, {name} 🎉"}, follow=True
    )
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(
        n.startswith("“Registration approved” is sent as UCS-2 because of 🎉") for n in notes
    )
    assert MessageTemplate.objects.get(event="registration_approved").encoding == "UCS-2"


def test_a_wrong_text_is_refused_on_the_body_and_kept_in_the_form(admin_client):
    before = MessageTemplate.objects.get(event="application_status").body
    response = admin_client.post(
        template_url("application_status"), {"body": "{portal}: {title} is {stage}"}
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["body"] == [
        "Unknown placeholder(s): {stage}. This message may use: {portal}, {name}, {company}, "
        "{title}, {status}.",
        "The message must include {status}.",
    ]
    assert form.data["body"] == "{portal}: {title} is {stage}"
    assert MessageTemplate.objects.get(event="application_status").body == before


def test_templates_are_neither_added_nor_deleted_and_can_be_restored(admin_client):
    template = MessageTemplate.objects.get(event="job_posted")
    assert admin_client.get(f"{TEMPLATES}add/").status_code == 403
    assert admin_client.get(f"{TEMPLATES}{template.pk}/delete/").status_code == 403
    template.body = "{portal}: {title}"
    template.save()
    act(admin_client, TEMPLATES, "restore_defaults", [template])
    template.refresh_from_db()
    assert template.body.startswith("{portal}: {company} is hiring: {title}.")
