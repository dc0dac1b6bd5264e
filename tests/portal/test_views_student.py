"""A student's pages through Django's test client: registering with the code sent by SMS,
logging in, the dashboard, applying, applications, SMS, profile and phone changes.

What a service sends is read from the SMSLog rows it writes (one per SMS); the code of a
verification comes from a real worker (celery_worker) sending it through the locmem backend.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from notifications.backends import locmem
from notifications.models import SMSLog, VerificationAttempt
from portal import services
from portal.models import Application, StudentProfile
from tests.helpers import wait_for
from tests.notifications.test_redis_down import redis_gone
from tests.portal.html import field, field_error, options, text_of

pytestmark = pytest.mark.django_db
PHONE = "+919812345610"
PASSWORD = "kestrel-harbour-58"


def registration(departments, **changes) -> dict:
    return {
        "username": "asha",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "full_name": "Asha Rao",
        "roll_number": "CSE2026001",
        "department": departments["CSE"].pk,
        "graduation_year": 2026,
        "phone": "98123 45610",
        **changes,
    }


def codes_sent() -> int:
    """Verification codes that went (or are going) out: starts not refused."""
    refused = ["country_not_allowed", "throttled"]
    return VerificationAttempt.objects.filter(kind="start").exclude(outcome__in=refused).count()


def code_for(number: str) -> str:
    """The newest code a real worker handed to the locmem backend for `number`."""
    issued = wait_for(
        lambda: [c for c in locmem.verification_outbox if c.to == number], what="the code"
    )
    return issued[-1].code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# --- Registering --------------------------------------------------------------------------


def test_the_registration_form_renders_with_a_label_for_every_field(client, departments):
    response = client.get(reverse("portal:register"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("username", "password", "password_again", "full_name", "roll_number",
                 "department", "graduation_year", "phone"):  # fmt: skip
        assert f'<label for="id_{name}"' in page, name
    assert field(response, "phone")["type"] == "tel"
    assert field(response, "phone")["aria-describedby"] == "id_phone_helptext"
    assert 'class="skip-link" href="#main"' in page and '<main id="main"' in page


@pytest.mark.integration
def test_a_student_registers_with_the_code_from_the_sms_and_waits_for_approval(
    celery_worker, client, departments
):
    response = client.post(reverse("portal:register"), registration(departments))
    assert response.status_code == 302 and response["Location"] == reverse("portal:register-verify")
    page = client.get(response["Location"])
    assert text_of(page, "main").count("+9198******10") == 1
    assert not StudentProfile.objects.exists()  # nothing is stored before the code

    code = code_for(PHONE)
    refused = client.post(reverse("portal:register-verify"), {"code": wrong(code)})
    assert refused.status_code == 400
    assert field_error(refused, "code") == "This code is not right. Check the SMS and try again."
    assert field(refused, "code")["value"] == wrong(code)

    done = client.post(reverse("portal:register-verify"), {"code": code})
    assert done.status_code == 302 and done["Location"] == reverse("portal:dashboard")
    profile = StudentProfile.objects.get()
    assert (profile.user.username, profile.phone, profile.is_approved) == ("asha", PHONE, False)
    dashboard = client.get(done["Location"])
    assert "Waiting for approval" in text_of(dashboard, "approval")
    assert "your registration is submitted" in dashboard.content.decode()
    [message] = SMSLog.objects.filter(to=PHONE)
    assert message.metadata["event"] == "registration_received"


@pytest.mark.integration
def test_submitting_the_right_code_twice_registers_once_and_sends_one_sms(
    celery_worker, client, departments
):
    client.post(reverse("portal:register"), registration(departments))
    pending_session = client.session["portal_registration"]
    code = code_for(PHONE)
    assert client.post(reverse("portal:register-verify"), {"code": code}).status_code == 302
    # The second click arrives with the registration still in its (older) session.
    second = client.__class__()
    session = second.session
    session["portal_registration"] = pending_session
    session.save()
    second.cookies["sessionid"] = session.session_key
    response = second.post(reverse("portal:register-verify"), {"code": code})
    assert response.status_code == 302
    assert StudentProfile.objects.count() == 1
    assert SMSLog.objects.filter(to=PHONE).count() == 1


@pytest.mark.parametrize(
    ("changes", "name", "error"),
    [
        ({"phone": "98123 456"}, "phone", "This phone number is not valid."),
        ({"phone": "+86 138 0013 8000"}, "phone",
         "Verification codes are not sent to this country."),
        ({"phone": "call me"}, "phone", "A phone number has digits only."),
        ({"password_again": "something-else-42"}, "password_again",
         "The two passwords differ."),
        ({"password": "1234", "password_again": "1234"}, "password",
         "This password is too short. It must contain at least 8 characters. "
         "This password is too common. This password is entirely numeric."),
        ({"graduation_year": "20x6"}, "graduation_year",
         "Give the year as four digits, e.g. 2026."),
        ({"username": "asha rao!"}, "username", None),
        ({"full_name": ""}, "full_name", "This field is required."),
        ({"department": "999"}, "department", "Choose a department from the list."),
    ],
    ids=["invalid-phone", "foreign-phone", "letters", "passwords-differ", "weak-password",
         "bad-year", "bad-username", "no-name", "no-department"],
)  # fmt: skip
def test_bad_registration_input_is_shown_on_its_field_and_the_rest_is_kept(
    client, departments, changes, name, error
):
    response = client.post(reverse("portal:register"), registration(departments, **changes))
    assert response.status_code == 400
    shown = field_error(response, name)
    assert shown == error if error else shown
    if name != "username":
        assert field(response, "username")["value"] == "asha"
    if name != "full_name":
        assert field(response, "full_name")["value"] == "Asha Rao"
    if name not in ("phone",):
        assert field(response, "phone")["value"] == "98123 45610"
    assert "value" not in field(response, "password")  # never sent back to the browser
    assert codes_sent() == 0
    assert "portal_registration" not in client.session


def test_every_field_in_error_is_shown_at_once(client, departments):
    data = registration(departments, phone="98123 456", password_again="other", full_name="")
    response = client.post(reverse("portal:register"), data)
    assert field_error(response, "phone") == "This phone number is not valid."
    assert field_error(response, "password_again") == "The two passwords differ."
    assert field_error(response, "full_name") == "This field is required."


def test_a_taken_username_roll_number_or_phone_is_shown_on_its_field(
    client, departments, make_student
):
    other = make_student(username="asha", phone=PHONE)
    response = client.post(reverse("portal:register"), registration(departments))
    assert field_error(response, "username") == "This username is taken: choose another."
    response = client.post(
        reverse("portal:register"),
        registration(departments, username="asha2", roll_number=other.roll_number),
    )
    assert field_error(response, "roll_number") == (
        "A student with this roll number is already registered."
    )
    response = client.post(reverse("portal:register"), registration(departments, username="a2"))
    assert field_error(response, "phone") == "This phone number is already registered."
    assert codes_sent() == 0


def test_a_double_submit_of_the_registration_sends_one_code(client, departments):
    first = client.post(reverse("portal:register"), registration(departments))
    second = client.post(reverse("portal:register"), registration(departments))
    assert first["Location"] == second["Location"] == reverse("portal:register-verify")
    assert codes_sent() == 1


def test_with_redis_down_the_registration_asks_to_try_again_and_keeps_nothing(client, departments):
    with redis_gone():  # the verification throttles cannot be asked: no code goes out
        response = client.post(reverse("portal:register"), registration(departments))
    assert response.status_code == 503
    assert "Codes cannot be sent or checked just now" in text_of(response, "main")
    assert field(response, "username")["value"] == "asha"
    assert VerificationAttempt.objects.count() == 0 and "portal_registration" not in client.session
    again = client.post(reverse("portal:register"), registration(departments))  # Redis is back
    assert again["Location"] == reverse("portal:register-verify") and codes_sent() == 1


def test_resending_within_the_cool_down_shows_the_wait_and_sends_nothing(client, departments):
    client.post(reverse("portal:register"), registration(departments))
    response = client.post(reverse("portal:register-verify"), {"action": "resend"})
    assert response.status_code == 429
    note = by_id_attrs(response, "resend-note")
    assert 0 < int(note["data-cooldown"]) <= 30
    assert "You can ask for a new one in" in text_of(response, "resend-note")
    assert "disabled" in by_id_attrs(response, "resend-button")
    assert codes_sent() == 1
    # The wait is still shown after a reload.
    again = client.get(reverse("portal:register-verify"))
    assert 0 < int(by_id_attrs(again, "resend-note")["data-cooldown"]) <= 30


def test_resending_after_the_cool_down_sends_a_new_code(client, departments, settings):
    settings.SMS_VERIFY_RESEND_COOLDOWN = 0
    client.post(reverse("portal:register"), registration(departments))
    response = client.post(reverse("portal:register-verify"), {"action": "resend"})
    assert response.status_code == 302
    assert (
        "A new code is on its way to +9198******10."
        in client.get(response["Location"]).content.decode()
    )
    assert codes_sent() == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [("", "This field is required."), ("12ab56", "The code has digits only."),
     ("12", "The code has at least 4 digits.")],
)  # fmt: skip
def test_a_malformed_code_is_refused_on_its_field(client, departments, code, error):
    client.post(reverse("portal:register"), registration(departments))
    response = client.post(reverse("portal:register-verify"), {"code": code})
    assert response.status_code == 400
    assert field_error(response, "code") == error
    assert not StudentProfile.objects.exists()


def test_a_code_with_no_code_sent_reads_as_expired(client, departments):
    # No worker ran: the backend never issued a code for the number.
    client.post(reverse("portal:register"), registration(departments))
    response = client.post(reverse("portal:register-verify"), {"code": "123456"})
    assert response.status_code == 400
    assert field_error(response, "code") == (
        "This code has expired or was already used. Ask for a new code."
    )


def test_too_many_tries_of_a_code_are_refused_above_the_form_with_the_wait(
    client, departments, settings
):
    settings.SMS_VERIFY_CHECKS_PER_NUMBER_DAY = 1
    client.post(reverse("portal:register"), registration(departments))
    client.post(reverse("portal:register-verify"), {"code": "123456"})
    response = client.post(reverse("portal:register-verify"), {"code": "654321"})
    assert response.status_code == 429
    assert text_of(response, "form-errors").startswith(
        "Too many codes were tried for this number; try again in"
    )
    assert field(response, "code")["value"] == "654321"
    assert not StudentProfile.objects.exists()


def test_the_code_step_without_a_registration_sends_back_to_the_form(client):
    response = client.get(reverse("portal:register-verify"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:register")
    session = client.session
    session["portal_registration"] = {"username": "x"}
    session.save()
    assert client.post(reverse("portal:register-verify"), {"code": "123456"})["Location"] == (
        reverse("portal:register")
    )


def test_going_back_to_the_form_keeps_what_was_typed(client, departments):
    client.post(reverse("portal:register"), registration(departments))
    response = client.get(reverse("portal:register"))
    assert field(response, "username")["value"] == "asha"
    assert field(response, "phone")["value"] == PHONE
    assert options(response, "department", selected=True) == [str(departments["CSE"].pk)]


# --- Logging in and out -------------------------------------------------------------------


def test_logging_in_goes_to_the_dashboard_or_to_next(client, make_student):
    student = make_student()
    login = reverse("portal:login")
    response = client.post(login, {"username": student.user.username, "password": "pw-student-123"})
    assert response["Location"] == reverse("portal:dashboard")
    client.post(reverse("portal:logout"))
    response = client.post(
        f"{login}?next=/portal/profile/",
        {
            "username": student.user.username,
            "password": "pw-student-123",
            "next": "/portal/profile/",
        },
    )
    assert response["Location"] == "/portal/profile/"


def test_a_wrong_password_is_said_above_the_form_and_the_username_kept(client, make_student):
    student = make_student()
    response = client.post(
        reverse("portal:login"), {"username": student.user.username, "password": "nope"}
    )
    assert response.status_code == 200  # Django's LoginView answers 200 with the form
    assert "This username and password do not match an account." in text_of(response, "form-errors")
    assert field(response, "username")["value"] == student.user.username


# --- Dashboard, jobs, applying -------------------------------------------------------------


def test_a_pending_student_sees_their_state_and_no_jobs(client, make_student, make_job):
    student = make_student(approved=False)
    make_job()
    client.force_login(student.user)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    assert "Waiting for approval" in text_of(response, "approval")
    assert "Open jobs for you" not in response.content.decode()


def test_an_approved_student_sees_the_open_jobs_they_may_apply_for_and_no_other(
    client, make_student, make_job
):
    student = make_student(department="CSE", graduation_year=2026)
    mine = make_job("Backend Engineer", open_to=("CSE", "IT"))
    make_job("Site Engineer", open_to=("CE",))
    make_job("Senior Engineer", min_graduation_year=2027)
    make_job("Closed Role", is_open=False)
    make_job("Late Role", deadline_in=-timezone.timedelta(hours=1))
    client.force_login(student.user)
    response = client.get(reverse("portal:dashboard"))
    table = text_of(response, "open-jobs")
    assert "Backend Engineer" in table
    for title in ("Site Engineer", "Senior Engineer", "Closed Role", "Late Role"):
        assert title not in table
    assert reverse("portal:job", args=[mine.pk]) in response.content.decode()


def test_the_dashboard_shows_the_students_sms_with_their_delivery_status(
    client, make_student, staff_user
):
    student = make_student(approved=False)
    services.student_approve(profile=student, by=staff_user)
    client.force_login(student.user)
    table = text_of(client.get(reverse("portal:dashboard")), "recent-sms")
    assert "Registration approved" in table and "pending" in table
    SMSLog.objects.filter(to=student.phone).update(status="delivered", delivered_at=timezone.now())
    table = text_of(client.get(reverse("portal:dashboard")), "recent-sms")
    assert "delivered" in table and "pending" not in table


def test_applying_records_the_application_and_sends_one_sms(client, make_student, make_job):
    student, job = make_student(), make_job()
    client.force_login(student.user)
    page = client.get(reverse("portal:job", args=[job.pk]))
    assert page.status_code == 200 and "Apply for this job" in page.content.decode()
    response = client.post(reverse("portal:job", args=[job.pk]))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "You applied for Graduate Engineer at Northwind Systems" in page.content.decode()
    assert "Applied" in text_of(page, "apply")
    application = Application.objects.get(student=student, job=job)
    [message] = SMSLog.objects.filter(to=student.phone)
    assert message.reference == f"portal:application:{application.pk}"


def test_applying_twice_says_so_and_sends_nothing_more(client, make_student, make_job):
    student, job = make_student(), make_job()
    client.force_login(student.user)
    client.post(reverse("portal:job", args=[job.pk]))
    response = client.post(reverse("portal:job", args=[job.pk]))
    assert response.status_code == 400
    assert text_of(response, "apply-error") == "You have already applied for this job."
    assert Application.objects.count() == 1
    assert SMSLog.objects.filter(to=student.phone).count() == 1


@pytest.mark.parametrize(
    ("job_changes", "student_changes", "error"),
    [
        ({"deadline_in": -timezone.timedelta(minutes=1)}, {},
         "The deadline for this job has passed."),
        ({"is_open": False}, {}, "This job no longer takes applications."),
        ({"open_to": ("ME",)}, {}, "This job is not open to your department or graduation year."),
        ({}, {"approved": False}, "You can apply once the placement office has approved you."),
    ],
    ids=["after-deadline", "closed", "not-eligible", "not-approved"],
)  # fmt: skip
def test_an_application_against_the_rules_is_refused_with_the_reason(
    client, make_student, make_job, job_changes, student_changes, error
):
    student, job = make_student(**student_changes), make_job(**job_changes)
    client.force_login(student.user)
    response = client.post(reverse("portal:job", args=[job.pk]))
    assert response.status_code == 400
    assert text_of(response, "apply-error") == error
    assert not Application.objects.exists() and not SMSLog.objects.exists()


def test_the_applications_pages_show_each_status_and_its_history(
    client, make_student, make_job, staff_user
):
    student, job = make_student(), make_job()
    application = services.application_create(student=student, job=job)
    services.application_change_status(
        application=application, to_status="shortlisted", by=staff_user
    )
    client.force_login(student.user)
    listing = client.get(reverse("portal:applications"))
    card = text_of(listing, f"application-{application.pk}")
    assert "Status: Shortlisted" in card and "Applied → Shortlisted" in card
    detail = client.get(reverse("portal:application", args=[application.pk]))
    assert detail.status_code == 200 and "Applied → Shortlisted" in text_of(detail, "main")


def test_the_sms_page_lists_every_portal_sms_to_the_student(
    client, make_student, make_job, staff_user
):
    student, job = make_student(approved=False), make_job()
    services.student_approve(profile=student, by=staff_user)
    services.application_create(student=student, job=job)
    client.force_login(student.user)
    table = text_of(client.get(reverse("portal:notifications")), "sms-history")
    assert "Registration approved" in table and "Application received" in table
    assert "we received your application for Graduate Engineer" in table


# --- Profile and phone ----------------------------------------------------------------------


def test_a_pending_student_edits_their_profile(client, make_student, departments):
    student = make_student(approved=False)
    client.force_login(student.user)
    response = client.post(
        reverse("portal:profile"),
        {"full_name": "Asha R.", "department": departments["IT"].pk, "graduation_year": 2027},
    )
    assert response.status_code == 302
    student.refresh_from_db()
    assert (student.full_name, student.department.code, student.graduation_year) == (
        "Asha R.", "IT", 2027
    )  # fmt: skip


def test_an_approved_student_changes_the_name_but_not_what_decides_eligibility(
    client, make_student, departments
):
    student = make_student()
    client.force_login(student.user)
    page = client.get(reverse("portal:profile"))
    assert "disabled" in field(page, "department") and "disabled" in field(page, "graduation_year")
    client.post(
        reverse("portal:profile"),
        {"full_name": "Asha R.", "department": departments["IT"].pk, "graduation_year": 2030},
    )
    student.refresh_from_db()
    assert (student.full_name, student.department.code, student.graduation_year) == (
        "Asha R.", "CSE", 2026
    )  # fmt: skip


def test_an_approved_student_of_an_old_year_still_saves_the_name(client, make_student):
    student = make_student(graduation_year=2001)
    client.force_login(student.user)
    response = client.post(reverse("portal:profile"), {"full_name": "Asha R."})
    assert response.status_code == 302
    student.refresh_from_db()
    assert (student.full_name, student.graduation_year) == ("Asha R.", 2001)


def test_a_bad_profile_is_shown_on_its_fields_and_kept(client, make_student, departments):
    student = make_student(approved=False)
    client.force_login(student.user)
    response = client.post(
        reverse("portal:profile"),
        {"full_name": "", "department": departments["IT"].pk, "graduation_year": 1900},
    )
    assert response.status_code == 400
    assert field_error(response, "full_name") == "This field is required."
    assert field_error(response, "graduation_year").startswith("Give a year from")
    assert options(response, "department", selected=True) == [str(departments["IT"].pk)]


@pytest.mark.parametrize(
    ("phone", "error"),
    [("98123 456", "This phone number is not valid."),
     ("+86 138 0013 8000", "Verification codes are not sent to this country."),
     ("+91 98765 00001", "This is already your phone number."),
     ("+91 98765 00002", "This phone number is already registered.")],
    ids=["invalid", "foreign", "unchanged", "taken"],
)  # fmt: skip
def test_a_new_number_that_cannot_be_used_is_refused_on_its_field(
    client, make_student, phone, error
):
    student = make_student(phone="+919876500001")
    make_student("Ravi", phone="+919876500002")
    client.force_login(student.user)
    response = client.post(reverse("portal:phone"), {"phone": phone})
    assert response.status_code == 400
    assert field_error(response, "phone") == error
    assert field(response, "phone")["value"] == phone
    assert codes_sent() == 0


def test_asking_twice_for_a_code_to_the_new_number_sends_one(client, make_student):
    student = make_student()
    client.force_login(student.user)
    first = client.post(reverse("portal:phone"), {"phone": PHONE})
    second = client.post(reverse("portal:phone"), {"phone": PHONE})
    assert first["Location"] == second["Location"] == reverse("portal:phone-verify")
    assert codes_sent() == 1
    resend = client.post(reverse("portal:phone-verify"), {"action": "resend"})
    assert resend.status_code == 429 and "You can ask for a new one in" in text_of(
        resend, "resend-note"
    )
    assert codes_sent() == 1


@pytest.mark.integration
def test_a_new_number_replaces_the_old_once_its_code_is_right(celery_worker, client, make_student):
    student = make_student()
    client.force_login(student.user)
    assert client.post(reverse("portal:phone"), {"phone": "98123 45610"}).status_code == 302
    code = code_for(PHONE)
    refused = client.post(reverse("portal:phone-verify"), {"code": wrong(code)})
    assert field_error(refused, "code") == "This code is not right. Check the SMS and try again."
    assert StudentProfile.objects.get(pk=student.pk).phone != PHONE
    done = client.post(reverse("portal:phone-verify"), {"code": code})
    assert done.status_code == 302 and done["Location"] == reverse("portal:profile")
    assert StudentProfile.objects.get(pk=student.pk).phone == PHONE
    page = client.get(done["Location"])
    assert "Your phone number is now +9198******10, verified." in page.content.decode()


def test_the_phone_code_step_without_a_number_sends_back(client, make_student):
    client.force_login(make_student().user)
    response = client.get(reverse("portal:phone-verify"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:phone")


def test_the_home_page_links_the_portal(client):
    page = client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("portal:dashboard")}">Placement portal</a>' in page


def test_every_student_page_renders(client, make_student, make_job):
    student, job = make_student(), make_job()
    application = services.application_create(student=student, job=job)
    client.force_login(student.user)
    session = client.session
    session["portal_new_phone"] = PHONE
    session.save()
    for name, args, title in [
        ("portal:dashboard", [], "Hello, Asha Rao"),
        ("portal:job", [job.pk], "Graduate Engineer"),
        ("portal:applications", [], "Your applications"),
        ("portal:application", [application.pk], "Graduate Engineer"),
        ("portal:notifications", [], "Your SMS"),
        ("portal:profile", [], "Your profile"),
        ("portal:phone", [], "Change your number"),
        ("portal:phone-verify", [], "Verify your new number"),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert title in response.content.decode(), name
        assert 'aria-current="page"' in response.content.decode() or name == "portal:job", name
    assert get_user_model().objects.count() == 1


def by_id_attrs(response, element_id: str) -> dict:
    from tests.portal.html import by_id

    element = by_id(response, element_id)
    assert element is not None, element_id
    return element["attrs"]
