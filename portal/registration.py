"""Registration and phone changes: nothing is stored until the phone's code is approved.

A registration in progress lives in the user's session as a PendingRegistration (the password
already hashed); the code is sent and checked by notifications.verification. Its throttles
(RateLimited with retry_after), country rule and provider errors propagate unchanged.
Re-exported by portal.services, the interface the views use.
"""

import logging
from dataclasses import asdict, dataclass, fields

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from notifications.phone import mask_phone_number, normalize_phone_number
from notifications.verification import verification_check, verification_start
from portal.exceptions import (
    CodeNotApproved,
    InvalidPassword,
    PhoneAlreadyUsed,
    PhoneUnchanged,
    PortalError,
    RegistrationExpired,
    RollNumberTaken,
    UsernameTaken,
    check_length,
)
from portal.messages import FULL_NAME_MAX
from portal.models import ROLL_NUMBER_MAX, Department, MessageTemplate, StudentProfile
from portal.notices import notify

logger = logging.getLogger(__name__)

# What each Verify status means to the person who typed the code.
CODE_REFUSALS = {
    "pending": "This code is not right. Check the SMS and try again.",
    "expired": "This code has expired or was already used. Ask for a new code.",
    "max_attempts_reached": "Too many wrong codes. Ask for a new code.",
    "canceled": "This code was canceled. Ask for a new code.",
}


@dataclass(frozen=True)
class PendingRegistration:
    """A registration waiting for its phone's code: JSON-safe, the password kept hashed."""

    username: str
    password_hash: str
    full_name: str
    roll_number: str
    department_id: int
    graduation_year: int
    phone: str

    @property
    def masked_phone(self) -> str:
        return mask_phone_number(self.phone)

    def as_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> "PendingRegistration":
        """Raises RegistrationExpired when `data` is not a registration kept by as_session."""
        try:
            values = {field.name: data[field.name] for field in fields(cls)}
        except (KeyError, TypeError):
            raise RegistrationExpired(
                "Your registration was not found (it may have expired): please start again."
            ) from None
        types = {field.name: field.type for field in fields(cls)}
        if any(type(values[name]) is not kind for name, kind in types.items()):
            raise RegistrationExpired("Your registration could not be read: please start again.")
        return cls(**values)


def registration_start(
    *,
    username: str,
    password: str,
    full_name: str,
    roll_number: str,
    department: Department,
    graduation_year: int,
    phone: str,
    client_ip: str | None,
) -> PendingRegistration:
    """Check a registration and send its phone a code; nothing is stored in the portal yet.

    Raises UsernameTaken, RollNumberTaken, PhoneAlreadyUsed, InvalidPassword, PortalError on
    an empty or malformed field; InvalidPhoneNumber, CountryNotAllowed, RateLimited from the
    verification.
    """
    username, full_name = (username or "").strip(), (full_name or "").strip()
    roll_number = (roll_number or "").strip().upper()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise PortalError(exc.messages[0], field="username") from None
    if not full_name:
        raise PortalError("Your name is required.", field="full_name")
    if not roll_number:
        raise PortalError("Your roll number is required.", field="roll_number")
    check_length(username, 150, field="username", what="A username")
    check_length(full_name, FULL_NAME_MAX, field="full_name", what="Your name")
    check_length(roll_number, ROLL_NUMBER_MAX, field="roll_number", what="A roll number")
    number = normalize_phone_number(phone)
    _check_free(username=username, roll_number=roll_number, phone=number)
    try:
        validate_password(
            password, user=get_user_model()(username=username, first_name=full_name[:150])
        )
    except ValidationError as exc:
        raise InvalidPassword(list(exc.messages)) from None
    verification_start(phone_number=number, client_ip=client_ip)
    logger.info("Registration of %s started; code sent to %s", username, mask_phone_number(number))
    return PendingRegistration(
        username=username,
        password_hash=make_password(password),
        full_name=full_name,
        roll_number=roll_number,
        department_id=department.pk,
        graduation_year=int(graduation_year),
        phone=number,
    )


def registration_resend(*, pending: PendingRegistration, client_ip: str | None) -> None:
    """Send a new code (the verification's cool-down and limits apply: RateLimited)."""
    _check_free(username=pending.username, roll_number=pending.roll_number, phone=pending.phone)
    verification_start(phone_number=pending.phone, client_ip=client_ip)


def registration_complete(
    *, pending: PendingRegistration, code: str, client_ip: str | None
) -> StudentProfile:
    """Check the code; once approved, create the user and the student's profile (phone
    verified, waiting for the office's approval) and tell the student it was received.

    Completing the same registration again returns its profile (a double submit). Raises
    CodeNotApproved (wrong code: status pending; expired; max_attempts_reached), the taken
    errors when someone registered the same username, roll number or phone meanwhile,
    RegistrationExpired when its department is gone; InvalidVerificationCode, RateLimited,
    ProviderUnavailable from the check.
    """
    done = StudentProfile.objects.filter(
        user__username=pending.username,
        user__password=pending.password_hash,
        phone=pending.phone,
    ).first()
    if done is not None:
        return done
    _check_free(username=pending.username, roll_number=pending.roll_number, phone=pending.phone)
    if not Department.objects.filter(pk=pending.department_id).exists():
        raise RegistrationExpired("Your department no longer exists: please start again.")
    result = verification_check(phone_number=pending.phone, code=code, client_ip=client_ip)
    _require_approved(result)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = get_user_model().objects.create(
                    username=pending.username, password=pending.password_hash
                )
                profile = StudentProfile.objects.create(
                    user=user,
                    full_name=pending.full_name,
                    roll_number=pending.roll_number,
                    department_id=pending.department_id,
                    graduation_year=pending.graduation_year,
                    phone=pending.phone,
                    phone_verified=True,
                )
        except IntegrityError:
            # Someone registered the same username, roll number or phone since the check.
            _check_free(
                username=pending.username, roll_number=pending.roll_number, phone=pending.phone
            )
            raise
        notify(
            event=MessageTemplate.Event.REGISTRATION_RECEIVED,
            to=profile.phone,
            key=f"portal:student:{profile.pk}:received",
            reference=f"portal:student:{profile.pk}",
            ids={"student": profile.pk},
            name=profile.full_name,
        )
    logger.info("Student %s registered (%s)", profile.pk, profile.masked_phone)
    return profile


def _require_approved(result) -> None:
    if not result.valid:
        message = CODE_REFUSALS.get(result.status, CODE_REFUSALS["pending"])
        raise CodeNotApproved(message, status=result.status)


def _check_free(*, username: str, roll_number: str, phone: str) -> None:
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise UsernameTaken("This username is taken: choose another.")
    if StudentProfile.objects.filter(roll_number__iexact=roll_number).exists():
        raise RollNumberTaken("A student with this roll number is already registered.")
    if StudentProfile.objects.filter(phone=phone).exists():
        raise PhoneAlreadyUsed("This phone number is already registered.")


# --- A student's new phone number ------------------------------------------------------


def phone_change_start(*, profile: StudentProfile, phone: str, client_ip: str | None) -> str:
    """Send a code to the new number; returns it in E.164 (the view keeps it for the confirm).

    Raises PhoneUnchanged, PhoneAlreadyUsed; InvalidPhoneNumber, CountryNotAllowed,
    RateLimited from the verification.
    """
    number = normalize_phone_number(phone)
    if number == profile.phone:
        raise PhoneUnchanged("This is already your phone number.")
    if StudentProfile.objects.filter(phone=number).exclude(pk=profile.pk).exists():
        raise PhoneAlreadyUsed("This phone number is already registered.")
    verification_start(phone_number=number, client_ip=client_ip)
    return number


def phone_change_confirm(
    *, profile: StudentProfile, phone: str, code: str, client_ip: str | None
) -> StudentProfile:
    """Check the new number's code; once approved, it is the profile's (verified) number.

    Confirming a number the profile already has returns it unchanged (a double submit).
    Raises CodeNotApproved, PhoneAlreadyUsed; InvalidVerificationCode, RateLimited,
    ProviderUnavailable from the check.
    """
    number = normalize_phone_number(phone)
    current = StudentProfile.objects.get(pk=profile.pk)
    if current.phone == number:
        return current
    if StudentProfile.objects.filter(phone=number).exclude(pk=profile.pk).exists():
        raise PhoneAlreadyUsed("This phone number is already registered.")
    result = verification_check(phone_number=number, code=code, client_ip=client_ip)
    _require_approved(result)
    try:
        with transaction.atomic():
            StudentProfile.objects.filter(pk=profile.pk).update(phone=number, phone_verified=True)
    except IntegrityError:
        raise PhoneAlreadyUsed("This phone number is already registered.") from None
    logger.info("Student %s changed phone to %s", profile.pk, mask_phone_number(number))
    current.phone, current.phone_verified = number, True
    return current
