"""Registration and phone changes through the real verification: the code is sent by a real
worker to the sandbox's Verify, read back from the sandbox, and checked there. Nothing is
stored before the code is approved; refusals send nothing."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password

from notifications.exceptions import (
    CountryNotAllowed,
    InvalidPhoneNumber,
    InvalidVerificationCode,
    RateLimited,
)
from notifications.models import SMSLog, VerificationAttempt
from portal import services
from portal.exceptions import (
    CodeNotApproved,
    InvalidPassword,
    PhoneAlreadyUsed,
    PhoneUnchanged,
    PortalError,
    RegistrationExpired,
    RollNumberTaken,
    UsernameTaken,
)
from portal.models import StudentProfile
from portal.services import PendingRegistration
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db
PHONE = "+919812345610"
NEW_PHONE = "+919812345611"
PASSWORD = "kestrel-harbour-58"


def start(departments, **changes) -> PendingRegistration:
    arguments = {
        "username": "asha",
        "password": PASSWORD,
        "full_name": "Asha Rao",
        "roll_number": "cse2026001",
        "department": departments["CSE"],
        "graduation_year": 2026,
        "phone": "98123 45610",
        "client_ip": "203.0.113.7",
        **changes,
    }
    return services.registration_start(**arguments)


def code_for(sandbox, number=PHONE) -> str:
    """The newest code the sandbox's Verify sent to `number`."""
    verifications = wait_for(lambda: sandbox.verifications(to=number), what="the code sent")
    return verifications[0]["code"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def starts_sent() -> int:
    refused = ["country_not_allowed", "throttled"]
    return VerificationAttempt.objects.filter(kind="start").exclude(outcome__in=refused).count()


# --- Starting: everything is checked before a code is sent --------------------------------------


def test_a_registration_starts_with_a_code_and_nothing_stored(departments):
    pending = start(departments)
    assert pending.phone == PHONE and pending.roll_number == "CSE2026001"
    assert pending.department_id == departments["CSE"].pk and pending.graduation_year == 2026
    assert check_password(PASSWORD, pending.password_hash) and PASSWORD not in str(pending)
    assert not get_user_model().objects.exists() and not StudentProfile.objects.exists()
    [attempt] = VerificationAttempt.objects.all()
    assert (attempt.phone_number, attempt.outcome, attempt.client_ip) == (
        PHONE,
        "queued",
        "203.0.113.7",
    )


def test_the_pending_registration_survives_the_session_as_json(departments):
    pending = start(departments)
    kept = json.loads(json.dumps(pending.as_session()))
    assert PendingRegistration.from_session(kept) == pending
    assert PASSWORD not in json.dumps(kept)


@pytest.mark.parametrize(
    "kept", [None, {}, {"username": "asha"}, "garbage", {**dict.fromkeys(
        ["username", "password_hash", "full_name", "roll_number", "phone"], "x"),
        "department_id": "1", "graduation_year": 2026}]
)  # fmt: skip
def test_a_missing_or_garbled_pending_registration_means_start_again(kept):
    with pytest.raises(RegistrationExpired):
        PendingRegistration.from_session(kept)


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"username": "ASHA"}, UsernameTaken, "username"),
        ({"roll_number": "  r00001 "}, RollNumberTaken, "roll_number"),
        ({"phone": "+91 98765 00001"}, PhoneAlreadyUsed, "phone"),
    ],
    ids=["username", "roll-number", "phone"],
)
def test_what_another_student_has_is_refused_before_a_code_is_sent(
    departments, django_user_model, make_student, changes, error, field
):
    student = make_student(username="asha", phone="+919876500001")
    StudentProfile.objects.filter(pk=student.pk).update(roll_number="R00001")
    if field != "username":
        changes = {"username": "someone-else", **changes}
    with pytest.raises(error) as caught:
        start(departments, **changes)
    assert caught.value.field == field
    assert starts_sent() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"username": "asha rao!"}, "username"), ({"full_name": "  "}, "full_name"),
     ({"roll_number": ""}, "roll_number"), ({"username": "a" * 151}, "username"),
     ({"full_name": "A" * 71}, "full_name"), ({"roll_number": "R" * 33}, "roll_number")],
)  # fmt: skip
def test_malformed_fields_are_refused_on_their_field(departments, changes, field):
    with pytest.raises(PortalError) as caught:
        start(departments, **changes)
    assert caught.value.field == field and starts_sent() == 0


def test_a_weak_password_is_refused_with_each_validators_message(departments):
    with pytest.raises(InvalidPassword) as caught:
        start(departments, password="1234")
    assert caught.value.field == "password"
    assert (
        "This password is too short. It must contain at least 8 characters."
        in caught.value.messages
    )
    assert "This password is entirely numeric." in caught.value.messages
    assert starts_sent() == 0


def test_an_invalid_or_foreign_number_is_refused_by_the_verification(departments):
    with pytest.raises(InvalidPhoneNumber):
        start(departments, phone="98123 456")
    with pytest.raises(CountryNotAllowed):
        start(departments, phone="+86 138 0013 8000")
    assert starts_sent() == 0


def test_a_resend_within_the_cool_down_is_refused_with_the_wait(departments):
    pending = start(departments)
    with pytest.raises(RateLimited) as caught:
        services.registration_resend(pending=pending, client_ip="203.0.113.7")
    assert 0 < caught.value.retry_after <= 30
    assert starts_sent() == 1


def test_a_resend_after_the_cool_down_sends_a_new_code(departments, settings):
    settings.SMS_VERIFY_RESEND_COOLDOWN = 0
    pending = start(departments)
    services.registration_resend(pending=pending, client_ip="203.0.113.7")
    assert starts_sent() == 2


# --- Completing with the code, through the real queue and the sandbox ---------------------------


@pytest.mark.integration
def test_the_right_code_creates_the_student_waiting_for_approval_and_tells_them(
    celery_worker, sandbox, departments
):
    pending = start(departments)
    profile = services.registration_complete(
        pending=pending, code=code_for(sandbox), client_ip="203.0.113.7"
    )
    profile = StudentProfile.objects.select_related("user").get(pk=profile.pk)
    assert (profile.user.username, profile.full_name, profile.roll_number, profile.phone) == (
        "asha", "Asha Rao", "CSE2026001", PHONE
    )  # fmt: skip
    assert profile.phone_verified and not profile.is_approved
    assert profile.user.check_password(PASSWORD) and not profile.user.is_staff
    message = SMSLog.objects.get(reference=f"portal:student:{profile.pk}")
    assert message.idempotency_key == f"portal:student:{profile.pk}:received"
    assert message.metadata == {"event": "registration_received", "student": profile.pk}
    texts = wait_for(
        lambda: [m["body"] for m in sandbox.messages(to=PHONE) if "registration" in m["body"]],
        what="the confirmation in the inbox",
    )
    assert texts == [
        "Placement Portal: Hi Asha Rao, your phone is verified and your registration is waiting "
        "for the placement office's approval. We will text you when it is reviewed."
    ]


@pytest.mark.integration
def test_completing_twice_returns_the_same_student_and_sends_once(
    celery_worker, sandbox, departments
):
    pending = start(departments)
    code = code_for(sandbox)
    first = services.registration_complete(pending=pending, code=code, client_ip=None)
    again = services.registration_complete(pending=pending, code=code, client_ip=None)
    assert first == again and StudentProfile.objects.count() == 1
    assert SMSLog.objects.filter(reference=f"portal:student:{first.pk}").count() == 1


@pytest.mark.integration
def test_a_wrong_code_stores_nothing_and_the_right_one_still_works(
    celery_worker, sandbox, departments
):
    pending = start(departments)
    code = code_for(sandbox)
    with pytest.raises(CodeNotApproved) as caught:
        services.registration_complete(pending=pending, code=wrong(code), client_ip=None)
    assert (caught.value.status, caught.value.field) == ("pending", "code")
    assert caught.value.message == "This code is not right. Check the SMS and try again."
    assert not StudentProfile.objects.exists() and not SMSLog.objects.exists()
    assert services.registration_complete(pending=pending, code=code, client_ip=None)


@pytest.mark.integration
def test_an_expired_code_is_refused(celery_worker, sandbox, departments):
    pending = start(departments)
    code = code_for(sandbox)
    sandbox.expire_verifications(to=PHONE)
    with pytest.raises(CodeNotApproved) as caught:
        services.registration_complete(pending=pending, code=code, client_ip=None)
    assert caught.value.status == "expired" and "Ask for a new code" in caught.value.message
    assert not get_user_model().objects.exists()


def test_a_code_that_is_not_digits_is_refused_before_the_provider(departments):
    pending = start(departments)
    with pytest.raises(InvalidVerificationCode):
        services.registration_complete(pending=pending, code="12ab", client_ip=None)
    assert not VerificationAttempt.objects.filter(kind="check").exists()


def test_a_username_taken_meanwhile_is_refused_before_the_code_is_spent(
    departments, django_user_model
):
    pending = start(departments)
    django_user_model.objects.create_user("Asha", password="pw-other-123")
    with pytest.raises(UsernameTaken):
        services.registration_complete(pending=pending, code="123456", client_ip=None)
    assert not VerificationAttempt.objects.filter(kind="check").exists()


# --- Changing the phone number ------------------------------------------------------------------


def test_a_phone_change_sends_a_code_to_the_new_number_only(make_student):
    student = make_student(phone=PHONE)
    assert (
        services.phone_change_start(profile=student, phone="098123 45611", client_ip=None)
        == NEW_PHONE
    )
    [attempt] = VerificationAttempt.objects.all()
    assert attempt.phone_number == NEW_PHONE
    assert StudentProfile.objects.get(pk=student.pk).phone == PHONE


def test_the_same_or_a_taken_number_is_refused(make_student):
    student = make_student(phone=PHONE)
    make_student(phone=NEW_PHONE)
    with pytest.raises(PhoneUnchanged):
        services.phone_change_start(profile=student, phone="+91 98123 45610", client_ip=None)
    with pytest.raises(PhoneAlreadyUsed):
        services.phone_change_start(profile=student, phone=NEW_PHONE, client_ip=None)
    with pytest.raises(InvalidPhoneNumber):
        services.phone_change_start(profile=student, phone="12", client_ip=None)
    assert starts_sent() == 0


@pytest.mark.integration
def test_the_new_number_is_the_students_once_its_code_is_approved(
    celery_worker, sandbox, make_student
):
    student = make_student(phone=PHONE)
    number = services.phone_change_start(profile=student, phone=NEW_PHONE, client_ip=None)
    code = code_for(sandbox, NEW_PHONE)
    with pytest.raises(CodeNotApproved):
        services.phone_change_confirm(
            profile=student, phone=number, code=wrong(code), client_ip=None
        )
    assert StudentProfile.objects.get(pk=student.pk).phone == PHONE
    changed = services.phone_change_confirm(
        profile=student, phone=number, code=code, client_ip=None
    )
    assert changed.phone == NEW_PHONE and changed.phone_verified
    assert StudentProfile.objects.get(pk=student.pk).phone == NEW_PHONE
    # A double submit finds the number already changed.
    again = services.phone_change_confirm(profile=student, phone=number, code=code, client_ip=None)
    assert again.phone == NEW_PHONE
    assert VerificationAttempt.objects.filter(kind="check").count() == 2


def test_a_number_taken_before_the_confirm_is_refused(make_student):
    student = make_student(phone=PHONE)
    make_student(phone=NEW_PHONE)
    with pytest.raises(PhoneAlreadyUsed):
        services.phone_change_confirm(
            profile=student, phone=NEW_PHONE, code="123456", client_ip=None
        )
    assert not VerificationAttempt.objects.filter(kind="check").exists()
