"""`manage.py test_sms`: settings report, normalization, a real send through the backend."""

import pytest
from django.core.management import CommandError, call_command

from notifications.backends import locmem


def test_it_reports_the_settings_without_sending(capsys, settings):
    call_command("test_sms")
    out = capsys.readouterr().out
    assert "SMS_BACKEND          notifications.backends.locmem.LocmemBackend" in out
    assert "status callback URL  http://testserver/webhooks/sms/status/" in out
    assert settings.TWILIO_AUTH_TOKEN not in out
    assert locmem.outbox == []


def test_with_to_it_normalizes_and_sends_through_the_backend(capsys):
    call_command("test_sms", "--to", "098123 45610", "--body", "ping")
    out = capsys.readouterr().out
    assert "'098123 45610' -> +919812345610" in out
    assert "Sent to +9198******10" in out
    assert [(m.to, m.body) for m in locmem.outbox] == [("+919812345610", "ping")]


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


@pytest.mark.django_db
def test_against_the_sandbox_it_checks_credentials_and_sends_for_real(sandbox, capsys):
    call_command("test_sms", "--to", "+919812345610", "--body", "real send")
    out = capsys.readouterr().out
    assert "credentials          accepted by Twilio" in out
    [message] = sandbox.messages(to="+919812345610")
    assert message["body"] == "real send" and message["sid"] in out


@pytest.mark.django_db
def test_credentials_refused_by_twilio_are_a_command_error(sandbox, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(CommandError, match="refused the credentials: 20003"):
        call_command("test_sms")
