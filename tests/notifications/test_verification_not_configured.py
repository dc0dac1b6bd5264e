"""A backend that lacks a verification setting: starts end `failed` (`not_configured`) at once,
checks answer 503, and neither ever waits to be called lost."""

import logging
from datetime import timedelta

import pytest
from celery import states
from django.utils import timezone
from django_celery_results.models import TaskResult
from rest_framework.test import APIClient

from notifications import verification, verification_worker
from notifications.models import VerificationAttempt
from tests.helpers import wait_for
from tests.notifications.test_api import assert_envelope
from tests.notifications.test_verification import TO, check, start

Outcome = VerificationAttempt.Outcome
Kind = VerificationAttempt.Kind


@pytest.fixture
def captured(caplog):
    """Log records of the worker's threads too (they log through `notifications`)."""
    logger = logging.getLogger("notifications")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.mark.integration
def test_a_start_without_the_verify_service_fails_at_once_naming_the_setting(
    celery_worker, sandbox, settings, captured
):
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    assert start(APIClient()).status_code == 202
    attempt = wait_for(
        lambda: VerificationAttempt.objects.filter(kind=Kind.START, outcome=Outcome.FAILED).first(),
        what="the attempt to fail",
    )
    assert (attempt.error_code, attempt.attempts) == ("not_configured", 1)
    assert "TWILIO_VERIFY_SERVICE_SID" in attempt.error_message
    task = wait_for(
        lambda: TaskResult.objects.filter(
            task_id=attempt.task_id, status__in=states.READY_STATES
        ).first(),
        what="the task to finish",
    )
    assert (task.status, task.result) == ("SUCCESS", '"failed"')  # ran once, not retried
    said = [r for r in captured.records if "TWILIO_VERIFY_SERVICE_SID" in r.getMessage()]
    assert [r.levelname for r in said] == ["ERROR"]
    assert sandbox.stats()["requests_total"] == 0


@pytest.mark.django_db
def test_a_start_that_failed_not_configured_never_becomes_task_lost(settings):
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    attempt = verification.verification_start(phone_number=TO)
    verification_worker.verification_send(attempt_id=attempt.id, attempt=0, may_retry=True)
    long_ago = timezone.now() - timedelta(seconds=settings.SMS_VERIFY_TASK_EXPIRES + 1)
    VerificationAttempt.objects.filter(id=attempt.id).update(created_at=long_ago)
    assert verification_worker.verification_abandon_stalled() == 0
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.error_code) == (Outcome.FAILED, "not_configured")


@pytest.mark.django_db
def test_a_backend_that_cannot_verify_fails_the_start_saying_so(settings):
    settings.SMS_BACKEND = "tests.notifications.test_backends_and_checks.PartnerBackend"
    attempt = verification.verification_start(phone_number=TO)
    verification_worker.verification_send(attempt_id=attempt.id, attempt=0, may_retry=True)
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.error_code) == (Outcome.FAILED, "not_configured")
    assert attempt.error_message == (
        "The SMS backend tests.notifications.test_backends_and_checks.PartnerBackend "
        "cannot verify phone numbers."
    )


@pytest.mark.django_db
def test_a_check_without_the_verify_service_is_503_saying_verification_is_not_configured(
    sandbox, settings, api_client, captured
):
    settings.TWILIO_VERIFY_SERVICE_SID = ""
    error = assert_envelope(check(api_client, "123456"), 503, "provider_unavailable")
    assert "not configured" in error["message"]
    assert "TWILIO_VERIFY_SERVICE_SID" not in error["message"]  # for operators, not clients
    [attempt] = VerificationAttempt.objects.filter(kind=Kind.CHECK)
    assert (attempt.outcome, attempt.error_code) == (Outcome.PROVIDER_UNAVAILABLE, "not_configured")
    assert "TWILIO_VERIFY_SERVICE_SID" in attempt.error_message
    said = [r for r in captured.records if "TWILIO_VERIFY_SERVICE_SID" in r.getMessage()]
    assert [r.levelname for r in said] == ["ERROR"]
    assert sandbox.stats()["requests_total"] == 0


@pytest.mark.django_db
def test_a_check_with_a_backend_that_cannot_verify_is_503_too(settings, api_client):
    settings.SMS_BACKEND = "tests.notifications.test_backends_and_checks.PartnerBackend"
    assert_envelope(check(api_client, "123456"), 503, "provider_unavailable")
    assert VerificationAttempt.objects.get().error_code == "not_configured"
