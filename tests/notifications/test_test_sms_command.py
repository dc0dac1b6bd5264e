"""`manage.py test_sms`: settings report, normalization, a real send through send_sms."""

import pytest
from django.core.management import CommandError, call_command

from notifications.backends import locmem
from notifications.models import SMSLog, WebhookEvent
from notifications.status import SMSStatus
from tests.helpers import wait_for
from tests.notifications.test_backends_and_checks import BrandedSender

TO = "+919812345610"


def test_it_reports_the_settings_without_sending(capsys, settings):
    call_command("test_sms")
    out = capsys.readouterr().out
    assert "SMS_BACKEND          notifications.backends.locmem.LocmemBackend" in out
    assert "status callback URL  http://testserver/webhooks/sms/status/" in out
    assert settings.TWILIO_AUTH_TOKEN not in out
    assert locmem.outbox == []


@pytest.mark.django_db
def test_with_to_it_normalizes_and_sends_through_the_backend(capsys):
    call_command("test_sms", "--to", "098123 45610", "--body", "ping")
    out = capsys.readouterr().out
    assert "'098123 45610' -> +919812345610" in out
    assert "Sent to +9198******10" in out
    assert [(m.to, m.body) for m in locmem.outbox] == [(TO, "ping")]


@pytest.mark.django_db
def test_the_test_message_is_recorded_like_any_other_and_can_be_followed(capsys):
    call_command("test_sms", "--to", TO, "--body", "follow me")
    out = capsys.readouterr().out
    [message] = SMSLog.objects.all()
    assert (message.to, message.body, message.status) == (TO, "follow me", SMSStatus.SENT)
    assert [m.reference for m in locmem.outbox] == [str(message.id)]
    assert message.provider_sid in out
    assert f"http://testserver/api/sms/status/{message.id}/" in out
    assert f"http://testserver/admin/notifications/smslog/{message.id}/change/" in out


@pytest.mark.django_db
def test_it_shows_the_sandbox_inbox_when_there_is_one(capsys, settings):
    settings.TWILIO_SANDBOX_INBOX_URL = "http://127.0.0.1:8025/_sandbox/"
    call_command("test_sms", "--to", TO)
    assert "http://127.0.0.1:8025/_sandbox/?to=%2B919812345610" in capsys.readouterr().out


@pytest.mark.django_db
def test_with_sms_disabled_the_test_message_is_skipped_like_any_other(settings):
    settings.SMS_ENABLED = False
    with pytest.raises(CommandError, match="Not sent: SMS_ENABLED is false"):
        call_command("test_sms", "--to", TO)
    assert SMSLog.objects.get().status == SMSStatus.SKIPPED
    assert locmem.outbox == []


def test_an_invalid_number_is_a_command_error():
    with pytest.raises(CommandError, match="not a valid number"):
        call_command("test_sms", "--to", "12")
    assert locmem.outbox == []


def test_missing_twilio_credentials_are_reported(settings, capsys):
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(CommandError, match="settings have problems"):
        call_command("test_sms")
    assert "TWILIO_ACCOUNT_SID is required" in capsys.readouterr().err


def test_a_missing_verify_service_is_shown_but_does_not_fail_the_check(sandbox, settings, capsys):
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    call_command("test_sms")
    out, err = capsys.readouterr()
    assert "notifications.W001: Phone verification will fail" in err
    assert "credentials          accepted by Twilio" in out and "Settings look right" in out


@pytest.mark.django_db
def test_against_the_sandbox_it_checks_credentials_and_sends_for_real(sandbox, capsys):
    call_command("test_sms", "--to", "+919812345610", "--body", "real send")
    out = capsys.readouterr().out
    assert "credentials          accepted by Twilio" in out
    [message] = sandbox.messages(to="+919812345610")
    assert message["body"] == "real send" and message["sid"] in out


@pytest.mark.django_db
def test_a_subclass_of_the_twilio_backend_gets_its_credentials_checked(sandbox, settings, capsys):
    settings.SMS_BACKEND = f"{BrandedSender.__module__}.BrandedSender"
    call_command("test_sms")
    assert "credentials          accepted by Twilio" in capsys.readouterr().out
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(CommandError, match="refused the credentials: 20003"):
        call_command("test_sms")


def test_the_status_callbacks_of_the_test_message_match_its_row(sandbox, live_server, settings):
    """Twilio's callbacks for the test message find its SMSLog row: none is an unknown SID."""
    settings.PUBLIC_BASE_URL = live_server.url
    call_command("test_sms", "--to", TO, "--body", "callbacks")
    message = wait_for(
        lambda: SMSLog.objects.filter(to=TO, status=SMSStatus.DELIVERED).first(),
        what="delivered through the status webhook",
    )
    assert [m["sid"] for m in sandbox.messages(to=TO)] == [message.provider_sid]
    outcomes = set(
        WebhookEvent.objects.filter(provider_sid=message.provider_sid).values_list(
            "outcome", flat=True
        )
    )
    assert "applied" in outcomes and "unknown" not in outcomes


def test_a_number_the_provider_refuses_is_a_command_error_and_recorded_failed(sandbox, db):
    with pytest.raises(CommandError, match="failed: 21211"):
        call_command("test_sms", "--to", "+15005550001")
    assert SMSLog.objects.get().status == SMSStatus.FAILED


@pytest.mark.django_db
def test_credentials_refused_by_twilio_are_a_command_error(sandbox, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(CommandError, match="refused the credentials: 20003"):
        call_command("test_sms")
