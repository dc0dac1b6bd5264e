"""Phone verification: validation and throttles before Twilio, then Verify through the sandbox."""

import json
import logging
import re
import threading
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.contrib.auth.models import User
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_results.models import TaskResult
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from twilio.base.exceptions import TwilioRestException

from notifications import twilio_client, verification, verification_worker
from notifications.backends import get_backend
from notifications.exceptions import (
    PermanentProviderError,
    ProviderUnavailable,
    RateLimited,
    TransientProviderError,
)
from notifications.models import VerificationAttempt
from notifications.redis_client import get_redis
from tests.helpers import wait_for
from tests.notifications.test_api import assert_envelope

START = "/api/sms/verify/start/"
CHECK = "/api/sms/verify/check/"
TO = "+919812345610"
OTHER = "+919812345611"
NOT_ALLOWED = "+8613800138000"  # China: not in SMS_VERIFY_ALLOWED_COUNTRIES (IN, US)
Outcome = VerificationAttempt.Outcome
Kind = VerificationAttempt.Kind


def start(client, number=TO, **extra):
    return client.post(START, {"phone_number": number, "channel": "sms"}, format="json", **extra)


def check(client, code, number=TO, **extra):
    return client.post(CHECK, {"phone_number": number, "code": code}, format="json", **extra)


def provider_calls(sandbox, endpoint: str) -> int:
    return sum(sandbox.stats()["requests"].get(endpoint, {}).values())


def code_sent_to(sandbox, number=TO) -> str:
    """The code in the newest verification SMS that reached the sandbox's inbox."""
    messages = wait_for(lambda: sandbox.messages(to=number), what="the code in the inbox")
    return re.search(r"\b(\d{4,10})\b", messages[0]["body"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def pending_start(attempt_id) -> VerificationAttempt | None:
    attempt = VerificationAttempt.objects.get(id=attempt_id)
    return attempt if attempt.outcome not in (Outcome.QUEUED, Outcome.SENDING) else None


@pytest.fixture
def loose_send_limits(settings):
    """No cool-down and roomy send limits, for tests about something else."""
    settings.SMS_VERIFY_RESEND_COOLDOWN = 0
    settings.SMS_VERIFY_SENDS_PER_NUMBER_HOUR = 100
    settings.SMS_VERIFY_SENDS_PER_NUMBER_DAY = 100


# --- Before Twilio: validation, countries, throttles (no provider needed) -------------------


@pytest.mark.django_db
class TestStartValidation:
    def test_a_valid_request_is_answered_202_at_once_with_the_normalized_number(self, api_client):
        response = start(api_client, "98123 45610")
        assert response.status_code == 202, response.content
        assert response.json() == {
            "status": "pending",
            "phone_number": TO,
            "channel": "sms",
            "expires_in": 600,
            "resend_after": 30,
        }
        [attempt] = VerificationAttempt.objects.all()
        assert (attempt.kind, attempt.outcome, attempt.phone_number) == (
            Kind.START,
            Outcome.QUEUED,
            TO,
        )
        assert attempt.client_ip == "127.0.0.1" and attempt.task_id

    def test_it_works_with_a_session_without_csrf_token_and_with_any_token(self, sandbox):
        member = User.objects.create_user("member", password="pw-member-123")
        session = APIClient(enforce_csrf_checks=True)
        session.login(username="member", password="pw-member-123")
        assert start(session).status_code == 202
        assert check(session, "123456").json() == {"status": "expired", "valid": False}
        stale = APIClient()
        stale.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        assert start(stale, OTHER).status_code == 202
        assert check(stale, "123456", OTHER).status_code == 200
        valid = APIClient()
        valid.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member).key}")
        assert check(valid, "123456", OTHER).status_code == 200

    def test_an_invalid_number_is_a_400_naming_the_field_and_records_nothing(self, api_client):
        error = assert_envelope(start(api_client, "+91 123"), 400, "invalid_phone_number")
        assert error["details"]["phone_number"]
        assert not VerificationAttempt.objects.exists()

    def test_a_number_outside_the_allowed_countries_is_refused_and_recorded(self, api_client):
        error = assert_envelope(start(api_client, NOT_ALLOWED), 400, "country_not_allowed")
        assert error["details"]["phone_number"]
        [attempt] = VerificationAttempt.objects.all()
        assert attempt.outcome == Outcome.COUNTRY_NOT_ALLOWED and not attempt.task_id
        assert not get_redis().exists(f"sms:retry:{NOT_ALLOWED}")  # no quota used either

    def test_no_allowed_country_means_no_verification_at_all(self, api_client, settings):
        settings.SMS_VERIFY_ALLOWED_COUNTRIES = []
        assert_envelope(start(api_client), 400, "country_not_allowed")

    def test_only_the_sms_channel_is_offered(self, api_client):
        response = api_client.post(START, {"phone_number": TO, "channel": "call"}, format="json")
        assert_envelope(response, 400, "invalid_channel")

    def test_missing_fields_are_a_validation_error(self, api_client):
        error = assert_envelope(api_client.post(START, {}, format="json"), 400, "validation_error")
        assert set(error["details"]) == {"phone_number"}


@pytest.mark.django_db
class TestStartThrottles:
    def assert_throttled(self, response, limit: str, at_least: int, at_most: int) -> None:
        error = assert_envelope(response, 429, "throttled")
        assert error["details"]["limit"] == limit
        assert at_least <= int(response["Retry-After"]) <= at_most
        assert error["details"]["retry_after"] == int(response["Retry-After"])
        assert VerificationAttempt.objects.filter(outcome=Outcome.THROTTLED, throttle=limit)

    def test_a_resend_within_the_cooldown_is_429_with_the_remaining_seconds(self, api_client):
        assert start(api_client).status_code == 202
        assert get_redis().exists(f"sms:retry:{TO}")
        self.assert_throttled(start(api_client), "resend_cooldown", 29, 30)
        assert start(api_client, OTHER).status_code == 202  # another number is not affected
        assert VerificationAttempt.objects.filter(outcome=Outcome.QUEUED).count() == 2

    def test_sends_per_number_per_hour(self, api_client, settings):
        settings.SMS_VERIFY_RESEND_COOLDOWN = 0
        settings.SMS_VERIFY_SENDS_PER_NUMBER_HOUR = 2
        assert [start(api_client).status_code for _ in range(2)] == [202, 202]
        self.assert_throttled(start(api_client), "number_hour", 3590, 3600)

    def test_sends_per_number_per_day(self, api_client, settings):
        settings.SMS_VERIFY_RESEND_COOLDOWN = 0
        settings.SMS_VERIFY_SENDS_PER_NUMBER_DAY = 3
        assert [start(api_client).status_code for _ in range(3)] == [202, 202, 202]
        self.assert_throttled(start(api_client), "number_day", 24 * 3600 - 10, 24 * 3600)

    def test_sends_per_client_address_per_hour(self, api_client, settings):
        settings.SMS_VERIFY_SENDS_PER_IP_HOUR = 2
        numbers = [f"+9198123456{n:02d}" for n in range(10, 14)]
        ip = {"REMOTE_ADDR": "203.0.113.5"}
        assert [start(api_client, n, **ip).status_code for n in numbers[:2]] == [202, 202]
        self.assert_throttled(start(api_client, numbers[2], **ip), "ip_hour", 3590, 3600)
        # The refusal used none of that number's quota: from another address it goes through.
        assert start(api_client, numbers[2], REMOTE_ADDR="203.0.113.6").status_code == 202

    def test_a_global_ceiling_per_minute_across_numbers_and_addresses(self, api_client, settings):
        settings.SMS_VERIFY_SENDS_PER_MINUTE = 3
        codes = [
            start(api_client, f"+9198123456{n:02d}", REMOTE_ADDR=f"198.51.100.{n}").status_code
            for n in range(10, 15)
        ]
        assert codes == [202, 202, 202, 429, 429]
        self.assert_throttled(start(api_client, OTHER), "global_minute", 50, 60)

    def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(self, api_client, settings):
        settings.SMS_TRUSTED_PROXY_COUNT = 1
        forged = "6.6.6.6, 203.0.113.7"
        assert start(api_client, HTTP_X_FORWARDED_FOR=forged).status_code == 202
        assert VerificationAttempt.objects.get().client_ip == "203.0.113.7"

    def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(self, api_client):
        assert start(api_client, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 202
        assert VerificationAttempt.objects.get().client_ip == "127.0.0.1"


@pytest.mark.django_db
class TestCheckValidation:
    @pytest.mark.parametrize("code", ["123", "12345678901", "12a456", "", " ", "１２３４５６"])
    def test_a_malformed_code_is_400_before_twilio_and_is_not_echoed(self, api_client, code):
        response = check(api_client, code)
        assert response.status_code == 400
        if code.strip():
            assert response.json()["error"]["code"] == "invalid_code"
            assert code not in response.content.decode()
        assert not VerificationAttempt.objects.exists()

    def test_a_number_outside_the_allowed_countries_is_refused(self, api_client):
        assert_envelope(check(api_client, "123456", NOT_ALLOWED), 400, "country_not_allowed")

    def test_the_service_raises_the_same_errors_for_the_portal(self):
        from notifications.exceptions import CountryNotAllowed, InvalidVerificationCode

        with pytest.raises(InvalidVerificationCode):
            verification.verification_check(phone_number=TO, code="12 34")
        with pytest.raises(CountryNotAllowed):
            verification.verification_check(phone_number=NOT_ALLOWED, code="123456")


@pytest.mark.parametrize("code", ["60200", "60202", "60203", "60212", "60410", "60605"])
def test_verify_errors_that_no_retry_can_fix_are_permanent(code):
    status = 429 if code in ("60202", "60203", "60212") else 400
    exc = TwilioRestException(status, "https://verify.twilio.com/v2/x", msg="no", code=int(code))
    error = twilio_client._verify_error(exc, None)
    assert isinstance(error, PermanentProviderError) and error.code == code


def test_a_twilio_rate_limit_on_verify_stays_transient():
    exc = TwilioRestException(429, "https://verify.twilio.com/v2/x", msg="slow", code=20429)
    assert isinstance(twilio_client._verify_error(exc, None), TransientProviderError)


def test_a_refusal_carries_retry_after_into_the_header_and_details():
    from config.exceptions import api_exception_handler

    response = api_exception_handler(RateLimited("x", retry_after=7, limit="ip_hour"), {})
    assert response.status_code == 429 and response["Retry-After"] == "7"
    assert response.data["error"]["details"] == {"limit": "ip_hour", "retry_after": 7}
    response = api_exception_handler(ProviderUnavailable("down"), {})
    assert response.status_code == 503 and not response.has_header("Retry-After")


# --- Checks against the sandbox's Verify (synchronous, no worker needed) ----------------------


@pytest.mark.django_db
class TestCheckAgainstTheSandbox:
    def started(self, sandbox, number=TO) -> str:
        """A verification started at the sandbox the way the worker does it; its code."""
        get_backend().start_verification(to=number, channel="sms")
        return code_sent_to(sandbox, number)

    def test_the_right_code_is_approved_and_recorded(self, sandbox, api_client):
        code = self.started(sandbox)
        response = check(api_client, code)
        assert response.status_code == 200 and response.json() == {
            "status": "approved",
            "valid": True,
        }
        [attempt] = VerificationAttempt.objects.filter(kind=Kind.CHECK)
        assert attempt.outcome == Outcome.APPROVED and attempt.verification_sid.startswith("VE")

    def test_a_wrong_code_is_pending_and_not_valid(self, sandbox, api_client):
        code = self.started(sandbox)
        assert check(api_client, wrong(code)).json() == {"status": "pending", "valid": False}

    def test_after_five_wrong_codes_even_the_right_one_is_max_attempts_reached(
        self, sandbox, api_client
    ):
        code = self.started(sandbox)
        statuses = [check(api_client, wrong(code)).json()["status"] for _ in range(5)]
        assert statuses == ["pending"] * 5
        response = check(api_client, code)
        assert response.status_code == 200
        assert response.json() == {"status": "max_attempts_reached", "valid": False}
        assert VerificationAttempt.objects.filter(
            kind=Kind.CHECK, outcome=Outcome.MAX_ATTEMPTS_REACHED, error_code="60202"
        ).exists()

    def test_a_second_check_after_approval_is_expired(self, sandbox, api_client):
        code = self.started(sandbox)
        assert check(api_client, code).json()["status"] == "approved"
        assert check(api_client, code).json() == {"status": "expired", "valid": False}

    def test_a_code_past_its_ten_minutes_is_expired(self, sandbox, api_client):
        code = self.started(sandbox)
        sandbox.advance_clock(601)
        assert check(api_client, code).json() == {"status": "expired", "valid": False}

    def test_checks_beyond_the_daily_limit_are_429_and_never_reach_twilio(
        self, sandbox, api_client, settings
    ):
        settings.SMS_VERIFY_CHECKS_PER_NUMBER_DAY = 3
        code = self.started(sandbox)
        assert [check(api_client, wrong(code)).status_code for _ in range(3)] == [200] * 3
        response = check(api_client, code)  # even the right code: the guessing budget is spent
        error = assert_envelope(response, 429, "throttled")
        assert error["details"]["limit"] == "checks_day"
        assert int(response["Retry-After"]) > 24 * 3600 - 10
        assert provider_calls(sandbox, "verify.check") == 3

    def test_ten_thousand_wrong_codes_make_at_most_the_configured_number_of_provider_calls(
        self, sandbox, settings
    ):
        code = self.started(sandbox)
        budget = settings.SMS_VERIFY_CHECKS_PER_NUMBER_DAY
        assert budget == 10  # the default: brute force at most 1 in 100,000 a day
        outcomes = []
        for n in range(10_000):
            guess = f"{n:06d}"
            if guess == code:
                continue
            try:
                outcomes.append(
                    verification.verification_check(
                        phone_number=TO, code=guess, client_ip="203.0.113.9"
                    ).status
                )
            except RateLimited:
                outcomes.append("throttled")
        assert provider_calls(sandbox, "verify.check") == budget
        assert outcomes[:budget] == ["pending"] * 5 + ["max_attempts_reached"] * (budget - 5)
        assert set(outcomes[budget:]) == {"throttled"}
        recorded = VerificationAttempt.objects.filter(kind=Kind.CHECK)
        assert recorded.exclude(outcome=Outcome.THROTTLED).count() == budget

    def test_a_provider_outage_answers_503_in_the_envelope(self, sandbox, api_client):
        sandbox.set_faults(http_503={"next": 1, "scope": "verify", "methods": ["POST"]})
        error = assert_envelope(check(api_client, "123456"), 503, "provider_unavailable")
        assert error["message"]
        assert VerificationAttempt.objects.get().outcome == Outcome.PROVIDER_UNAVAILABLE
        assert sandbox.stats()["faults_fired"] == {"http_503": 1}

    def test_a_rate_limited_provider_is_503_with_its_retry_after(self, sandbox, api_client):
        sandbox.set_faults(http_429={"next": 1, "scope": "verify", "retry_after": 4})
        response = check(api_client, "123456")
        assert_envelope(response, 503, "provider_unavailable")
        assert response["Retry-After"] == "4"

    def test_a_slow_provider_is_cut_off_by_the_check_timeout(self, sandbox, api_client, settings):
        settings.SMS_VERIFY_CHECK_TIMEOUT = 0.2
        code = self.started(sandbox)
        sandbox.set_faults(latency={"ms": 1000, "scope": "verify"})
        assert_envelope(check(api_client, code), 503, "provider_unavailable")
        sandbox.set_faults(latency=None)
        # The short timeout was for that call only: the client's own is back.
        assert twilio_client.get_client().http_client.timeout == (3.05, 10.0)
        assert check(api_client, code).json()["status"] == "approved"


# --- Start through a real worker and the sandbox -------------------------------------------


@pytest.mark.integration
class TestStartThroughTheWorker:
    def test_start_then_the_code_from_the_inbox_is_approved(self, celery_worker, sandbox):
        client = APIClient()
        response = start(client, "98123 45610")
        assert response.status_code == 202
        attempt = wait_for(
            lambda: pending_start(VerificationAttempt.objects.get(kind=Kind.START).id),
            what="the send",
        )
        assert attempt.outcome == Outcome.PENDING and attempt.attempts == 1
        assert attempt.verification_sid.startswith("VE")
        code = code_sent_to(sandbox)
        assert check(client, code).json() == {"status": "approved", "valid": True}
        checked = VerificationAttempt.objects.get(kind=Kind.CHECK)
        assert checked.verification_sid == attempt.verification_sid

    def test_with_sms_disabled_no_code_is_sent_and_the_attempt_says_why(
        self, celery_worker, sandbox, settings
    ):
        settings.SMS_ENABLED = False
        assert start(APIClient(), TO).status_code == 202
        attempt = wait_for(
            lambda: VerificationAttempt.objects.filter(
                kind=Kind.START, outcome=Outcome.FAILED
            ).first(),
            what="the attempt to settle",
        )
        assert (attempt.error_code, attempt.attempts) == ("sms_disabled", 1)
        assert sandbox.stats()["verifications_created"] == 0 and sandbox.messages(to=TO) == []

    def test_a_disallowed_country_never_reaches_the_sandbox(self, celery_worker, sandbox):
        client = APIClient()
        assert_envelope(start(client, NOT_ALLOWED), 400, "country_not_allowed")
        assert start(client, TO).status_code == 202  # queued after it: proves the queue ran
        code_sent_to(sandbox, TO)
        assert sandbox.messages(to=NOT_ALLOWED) == []
        assert sandbox.stats()["verifications_created"] == 1
        assert [v["to"] for v in sandbox.verifications()] == [TO]

    def test_the_task_carries_expires_and_no_phone_number(self, celery_worker, sandbox):
        published = []

        def capture(sender=None, headers=None, body=None, **kwargs):
            if sender == "notifications.tasks.start_verification":
                published.append((headers, body))

        before_task_publish.connect(capture)
        try:
            attempt = verification.verification_start(phone_number=TO, client_ip="203.0.113.9")
        finally:
            before_task_publish.disconnect(capture)
        [(headers, body)] = published
        expires = parse_datetime(headers["expires"])
        expected = timezone.now() + timedelta(seconds=300)
        assert abs((expires - expected).total_seconds()) < 5
        assert TO not in json.dumps([headers, body], default=str)
        assert headers["argsrepr"] == f"('{attempt.id}',)"
        wait_for(lambda: pending_start(attempt.id), what="the send")
        result = wait_for(lambda: TaskResult.objects.filter(task_id=attempt.task_id).first())
        assert TO not in f"{result.task_args} {result.task_kwargs} {result.result}"

    def test_a_task_that_waited_past_its_expiry_is_never_run(
        self, celery_worker, sandbox, settings
    ):
        settings.SMS_VERIFY_TASK_EXPIRES = 0.001
        attempt = verification.verification_start(phone_number=TO)
        attempt = wait_for(lambda: pending_start(attempt.id), what="the expiry to be recorded")
        assert (attempt.outcome, attempt.error_code, attempt.attempts) == (
            Outcome.FAILED,
            "task_expired",
            0,
        )
        assert sandbox.stats()["requests_total"] == 0

    def test_a_transient_fault_on_start_is_retried(self, celery_worker, sandbox):
        sandbox.set_faults(http_503={"next": 1, "scope": "verify", "methods": ["POST"]})
        attempt = verification.verification_start(phone_number=TO)
        attempt = wait_for(lambda: pending_start(attempt.id), what="the send")
        assert (attempt.outcome, attempt.attempts) == (Outcome.PENDING, 2)
        assert len(sandbox.messages(to=TO)) == 1

    def test_max_send_attempts_60203_is_recorded_and_not_retried(
        self, celery_worker, sandbox, loose_send_limits
    ):
        attempts = []
        for _ in range(6):  # Twilio sends one pending verification's code 5 times at most
            attempts.append(verification.verification_start(phone_number=TO))
            wait_for(lambda a=attempts[-1]: pending_start(a.id), what="the send")
        last = VerificationAttempt.objects.get(id=attempts[-1].id)
        assert (last.outcome, last.error_code, last.attempts) == (Outcome.FAILED, "60203", 1)
        assert sandbox.stats()["requests"]["verify.verification.create"] == {"201": 5, "429": 1}

    def test_max_check_attempts_60202_on_start_is_recorded_and_not_retried(
        self, celery_worker, sandbox, loose_send_limits
    ):
        first = verification.verification_start(phone_number=TO)
        wait_for(lambda: pending_start(first.id), what="the send")
        code = code_sent_to(sandbox)
        for _ in range(6):
            verification.verification_check(phone_number=TO, code=wrong(code))
        again = verification.verification_start(phone_number=TO)
        again = wait_for(lambda: pending_start(again.id), what="the send")
        assert (again.outcome, again.error_code, again.attempts) == (
            Outcome.MAX_ATTEMPTS_REACHED,
            "60202",
            1,
        )

    def test_concurrent_starts_for_one_number_pass_the_cooldown_once(self, celery_worker, sandbox):
        threads_count = 12
        barrier = threading.Barrier(threads_count)
        statuses: list[int] = []
        lock = threading.Lock()

        def request():
            client = APIClient()
            barrier.wait()
            try:
                status = start(client).status_code
            finally:
                connection.close()  # this thread's own connection
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=request) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [202] + [429] * (threads_count - 1)
        code_sent_to(sandbox)
        [sent] = VerificationAttempt.objects.filter(kind=Kind.START).exclude(
            outcome=Outcome.THROTTLED
        )
        wait_for(lambda: pending_start(sent.id), what="the send")
        assert sandbox.stats()["verifications_created"] == 1

    def test_the_code_never_appears_in_logs_or_the_audit(self, celery_worker, sandbox, caplog):
        handler = caplog.handler
        loggers = [logging.getLogger(n) for n in ("", "notifications", "celery", "twilio")]
        for logger in loggers:
            logger.addHandler(handler)
        try:
            client = APIClient()
            assert start(client).status_code == 202
            code = code_sent_to(sandbox)
            assert check(client, wrong(code)).status_code == 200
            assert check(client, code).json()["status"] == "approved"
            assert check(client, code).json()["status"] == "expired"
        finally:
            for logger in loggers:
                logger.removeHandler(handler)
        lines = [record.getMessage() for record in caplog.records]
        assert any("Verification check for +9198******10: approved" in line for line in lines)
        assert not [line for line in lines if code in line or TO in line]
        rows = [model_to_dict(row) for row in VerificationAttempt.objects.all()]
        assert len(rows) == 4
        assert code not in json.dumps(rows, default=str)


# --- Audit in the admin ---------------------------------------------------------------------


@pytest.mark.django_db
class TestAdmin:
    URL = "/admin/notifications/verificationattempt/"

    @pytest.fixture
    def attempts(self):
        VerificationAttempt.objects.create(
            kind=Kind.START, phone_number=TO, outcome=Outcome.PENDING, client_ip="203.0.113.5"
        )
        VerificationAttempt.objects.create(
            kind=Kind.CHECK,
            phone_number="+12015550123",
            outcome=Outcome.THROTTLED,
            throttle="checks_day",
        )

    def test_the_list_is_masked_and_filters_by_kind_and_outcome(self, admin_client, attempts):
        page = admin_client.get(self.URL).content.decode()
        assert "+9198******10" in page and "+1201*****23" in page and TO not in page
        page = admin_client.get(self.URL, {"outcome__exact": "throttled"}).content.decode()
        assert "+1201*****23" in page and "+9198******10" not in page
        page = admin_client.get(self.URL, {"kind__exact": "start"}).content.decode()
        assert "+9198******10" in page and "+1201*****23" not in page

    def test_search_by_number_in_any_format_or_by_address(self, admin_client, attempts):
        page = admin_client.get(self.URL, {"q": "098123 45610"}).content.decode()
        assert "+9198******10" in page and "+1201*****23" not in page
        page = admin_client.get(self.URL, {"q": "203.0.113.5"}).content.decode()
        assert "+9198******10" in page and "+1201*****23" not in page

    def test_the_detail_page_is_read_only_and_masked(self, admin_client, attempts):
        attempt = VerificationAttempt.objects.get(phone_number=TO)
        page = admin_client.get(f"{self.URL}{attempt.id}/change/")
        html = page.content.decode()
        assert page.status_code == 200 and TO not in html and "+9198******10" in html
        assert 'name="_save"' not in html
        assert admin_client.get(f"{self.URL}add/").status_code == 403


@pytest.mark.django_db
def test_old_verification_attempts_are_purged():
    from datetime import timedelta

    from django.utils import timezone

    old = VerificationAttempt.objects.create(
        kind=Kind.CHECK, phone_number=TO, outcome=Outcome.PENDING
    )
    VerificationAttempt.objects.filter(id=old.id).update(
        created_at=timezone.now() - timedelta(days=91)
    )
    recent = VerificationAttempt.objects.create(
        kind=Kind.CHECK, phone_number=TO, outcome=Outcome.PENDING
    )
    assert verification_worker.verification_attempts_purge() == 1
    assert list(VerificationAttempt.objects.values_list("id", flat=True)) == [recent.id]


@pytest.mark.django_db
def test_starts_whose_task_was_lost_end_failed_after_the_task_would_have_expired():
    from datetime import timedelta

    from django.utils import timezone

    lost = VerificationAttempt.objects.create(
        kind=Kind.START, phone_number=TO, outcome=Outcome.QUEUED
    )
    long_ago = timezone.now() - timedelta(seconds=301)
    VerificationAttempt.objects.filter(id=lost.id).update(created_at=long_ago)
    fresh = VerificationAttempt.objects.create(
        kind=Kind.START, phone_number=TO, outcome=Outcome.QUEUED
    )
    assert verification_worker.verification_abandon_stalled() == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost.outcome, lost.error_code) == (Outcome.FAILED, "task_lost")
    assert fresh.outcome == Outcome.QUEUED
