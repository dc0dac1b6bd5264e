"""Console backend output, backend selection, and the system checks on SMS settings."""

import io

import pytest
from django.core import checks
from django.core.checks import run_checks

from notifications.backends import BaseSMSBackend, OutboundSMS, get_backend
from notifications.backends.console import ConsoleBackend
from notifications.backends.twilio import TwilioBackend
from notifications.checks import check_sms_settings
from notifications.status import SMSStatus


def test_the_console_backend_prints_a_masked_recipient_and_the_body():
    stream = io.StringIO()
    result = ConsoleBackend(stream=stream).send(
        OutboundSMS(to="+919812345610", body="Hi there", sender="+15005550006")
    )
    printed = stream.getvalue()
    assert "+9198******10" in printed and "Hi there" in printed and "+919812345610" not in printed
    assert result.status == SMSStatus.SENT and result.provider_sid.startswith("CONSOLE")


def test_get_backend_follows_the_dotted_path(settings):
    settings.SMS_BACKEND = "notifications.backends.console.ConsoleBackend"
    assert isinstance(get_backend(), ConsoleBackend)


def ids(errors) -> set[str]:
    return {e.id for e in errors}


def test_the_default_settings_pass_the_checks():
    assert check_sms_settings() == []


def test_a_retry_cap_at_or_above_the_visibility_timeout_is_refused(settings):
    settings.TWILIO_RETRY_DELAY = settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert ids(check_sms_settings()) == {"notifications.E001"}


def test_the_retry_cap_is_checked_against_the_visibility_timeout_celery_uses(settings):
    """Kombu's Redis transport reads the transport option, not the project's own variable."""
    settings.CELERY_BROKER_VISIBILITY_TIMEOUT = 86400
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60}
    settings.TWILIO_RETRY_DELAY = 300
    assert ids(check_sms_settings()) == {"notifications.E001"}


def test_without_a_transport_option_kombus_default_of_an_hour_is_the_limit(settings):
    settings.CELERY_BROKER_VISIBILITY_TIMEOUT = 86400
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.TWILIO_RETRY_DELAY = 3599
    assert check_sms_settings() == []
    settings.TWILIO_RETRY_DELAY = 3600
    assert ids(check_sms_settings()) == {"notifications.E001"}


def test_an_unimportable_backend_is_refused(settings):
    settings.SMS_BACKEND = "notifications.backends.nope.Backend"
    assert ids(check_sms_settings()) == {"notifications.E002"}


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ({"TWILIO_ACCOUNT_SID": ""}, {"notifications.E003"}),
        ({"TWILIO_AUTH_TOKEN": ""}, {"notifications.E003"}),
        ({"TWILIO_PHONE_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": ""}, {"notifications.E004"}),
        ({"TWILIO_VERIFY_SERVICE_SID": ""}, {"notifications.W001"}),
    ],
)
def test_the_twilio_backend_needs_credentials_and_a_sender(settings, missing, expected):
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    for name, value in missing.items():
        setattr(settings, name, value)
    assert ids(check_sms_settings()) == expected


class BrandedSender(TwilioBackend):
    """A project's own Twilio backend, whose name does not say Twilio."""


class PartnerBackend(BaseSMSBackend):
    """A third-party backend that sends messages and cannot verify phone numbers."""

    required_settings = ("SMS_PARTNER_API_KEY",)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ({"TWILIO_AUTH_TOKEN": ""}, {"notifications.E003"}),
        ({"TWILIO_PHONE_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": ""}, {"notifications.E004"}),
        ({"TWILIO_VERIFY_SERVICE_SID": ""}, {"notifications.W001"}),
    ],
)
def test_a_subclass_of_the_twilio_backend_keeps_its_checks(settings, missing, expected):
    settings.SMS_BACKEND = f"{__name__}.BrandedSender"
    for name, value in missing.items():
        setattr(settings, name, value)
    assert ids(check_sms_settings()) == expected


def test_a_backend_declares_the_settings_it_requires(settings):
    settings.SMS_BACKEND = f"{__name__}.PartnerBackend"
    [error] = [e for e in check_sms_settings() if e.is_serious()]
    assert error.id == "notifications.E003" and "SMS_PARTNER_API_KEY" in error.msg
    settings.SMS_PARTNER_API_KEY = "key"
    assert [e for e in check_sms_settings() if e.is_serious()] == []


def test_a_missing_verify_service_is_a_warning_that_names_it_and_says_what_follows(settings):
    settings.SMS_BACKEND = f"{__name__}.BrandedSender"
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    [warning] = check_sms_settings()
    assert warning.level == checks.WARNING and not warning.is_serious()
    assert warning.msg == (
        "Phone verification will fail: TWILIO_VERIFY_SERVICE_SID is required for phone "
        f"verification by the SMS backend {__name__}.BrandedSender. Starts end `failed` "
        "(not_configured) and checks answer 503."
    )
    assert "SILENCED_SYSTEM_CHECKS" in warning.hint


def test_a_backend_that_cannot_verify_is_warned_about(settings):
    settings.SMS_BACKEND = f"{__name__}.PartnerBackend"
    settings.SMS_PARTNER_API_KEY = "key"
    [warning] = check_sms_settings()
    assert warning.id == "notifications.W001" and "cannot verify phone numbers" in warning.msg


@pytest.mark.parametrize("backend", ["console.ConsoleBackend", "locmem.LocmemBackend"])
def test_the_local_backends_verify_without_any_provider_setting(settings, backend):
    settings.SMS_BACKEND = f"notifications.backends.{backend}"
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    settings.TWILIO_ACCOUNT_SID = ""
    assert check_sms_settings() == []


def test_a_deployment_that_never_verifies_may_silence_the_warning(settings):
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    assert "notifications.W001" in {m.id for m in run_checks() if not m.is_silenced()}
    settings.SILENCED_SYSTEM_CHECKS = ["notifications.W001"]
    assert "notifications.W001" not in {m.id for m in run_checks() if not m.is_silenced()}


def test_something_that_is_not_a_backend_is_refused(settings):
    settings.SMS_BACKEND = "decimal.Decimal"
    assert ids(check_sms_settings()) == {"notifications.E002"}


def test_a_messaging_service_is_a_valid_sender(settings):
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    settings.TWILIO_PHONE_NUMBER = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    assert check_sms_settings() == []


def test_a_verification_task_must_expire_before_the_code_does(settings):
    settings.SMS_VERIFY_TASK_EXPIRES = settings.SMS_VERIFY_CODE_TTL
    assert ids(check_sms_settings()) == {"notifications.E005"}


def test_a_lease_must_outlast_a_renewal_interval_and_a_provider_call(settings):
    # 5 s between renewals, 3.05 + 10 s of timeouts and a 1 s margin: 19.05 s at least.
    settings.SMS_LEASE_RENEW_INTERVAL = 5.0
    settings.TWILIO_CONNECT_TIMEOUT, settings.TWILIO_READ_TIMEOUT = 3.05, 10.0
    settings.SMS_LEASE_SECONDS = 19
    assert ids(check_sms_settings()) == {"notifications.E006"}
    settings.SMS_LEASE_SECONDS = 20
    assert check_sms_settings() == []
    settings.TWILIO_READ_TIMEOUT = 11.0
    assert ids(check_sms_settings()) == {"notifications.E006"}
