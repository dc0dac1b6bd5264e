"""Phone verification with the console and locmem backends: codes made and checked locally,
kept hashed in the shared cache, with Twilio Verify's rules."""

import io
import json
import logging
import re
import threading
import time

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from notifications.backends import locmem
from notifications.backends.console import ConsoleBackend
from notifications.backends.locmem import LocmemBackend
from notifications.exceptions import PermanentProviderError, TransientProviderError
from notifications.models import VerificationAttempt
from notifications.redis_client import get_redis
from tests.helpers import wait_for
from tests.notifications.test_verification import CHECK, START, TO, check, start, wrong

Outcome = VerificationAttempt.Outcome
Kind = VerificationAttempt.Kind
pytestmark = pytest.mark.django_db


def started(number=TO) -> str:
    """A code sent to `number` by the locmem backend, as a worker sends it; the code."""
    LocmemBackend().start_verification(to=number, channel="sms")
    return locmem.verification_outbox[-1].code


def stored_values() -> list[bytes]:
    """Every value the cache keeps for verifications, as Redis holds it."""
    redis = get_redis()
    return [redis.get(key) for key in redis.scan_iter(match="*sms:verify:*")]


def test_the_console_backend_prints_the_code_for_the_developer_and_checks_it(settings):
    settings.SMS_BACKEND = "notifications.backends.console.ConsoleBackend"
    stream = io.StringIO()
    started = ConsoleBackend(stream=stream).start_verification(to=TO, channel="sms")
    printed = stream.getvalue()
    code = re.search(r"Your verification code is: (\d+)", printed).group(1)
    assert len(code) == 6 and started.sid.startswith("VE") and started.status == "pending"
    assert "+9198******10" in printed and TO not in printed
    client = APIClient()
    assert check(client, wrong(code)).json() == {"status": "pending", "valid": False}
    assert check(client, code).json() == {"status": "approved", "valid": True}
    assert VerificationAttempt.objects.filter(verification_sid=started.sid).count() == 2


@pytest.mark.integration
def test_with_the_locmem_backend_a_worker_sends_the_code_to_the_verification_outbox(
    celery_worker,
):
    client = APIClient()
    assert start(client, "98123 45610").status_code == 202
    attempt = wait_for(
        lambda: VerificationAttempt.objects.filter(
            kind=Kind.START, outcome=Outcome.PENDING
        ).first(),
        what="the send",
    )
    [issued] = locmem.verification_outbox
    assert (issued.to, issued.channel, issued.sid) == (TO, "sms", attempt.verification_sid)
    assert attempt.attempts == 1 and attempt.verification_sid.startswith("VE")
    assert locmem.outbox == []  # a code is not an ordinary message
    assert check(client, issued.code).json() == {"status": "approved", "valid": True}
    assert VerificationAttempt.objects.get(kind=Kind.CHECK).verification_sid == issued.sid


def test_a_code_past_SMS_VERIFY_CODE_TTL_is_expired(settings, api_client):
    settings.SMS_VERIFY_CODE_TTL = 1
    code = started()
    time.sleep(1.2)  # past the TTL, which Redis enforces
    assert check(api_client, code).json() == {"status": "expired", "valid": False}
    assert VerificationAttempt.objects.get().error_code == "20404"


def test_after_five_wrong_codes_even_the_right_one_is_max_attempts_reached(api_client):
    code = started()
    assert [check(api_client, wrong(code)).json()["status"] for _ in range(5)] == ["pending"] * 5
    assert check(api_client, code).json() == {"status": "max_attempts_reached", "valid": False}
    assert VerificationAttempt.objects.filter(
        outcome=Outcome.MAX_ATTEMPTS_REACHED, error_code="60202"
    ).exists()


def test_the_fifth_check_may_still_be_the_right_code(api_client):
    code = started()
    assert [check(api_client, wrong(code)).json()["status"] for _ in range(4)] == ["pending"] * 4
    assert check(api_client, code).json() == {"status": "approved", "valid": True}


def test_no_new_code_is_sent_while_a_code_with_its_checks_used_up_lives():
    code = started()
    backend = LocmemBackend()
    for _ in range(5):
        assert backend.check_verification(to=TO, code=wrong(code)).status == "pending"
    with pytest.raises(PermanentProviderError) as raised:
        backend.start_verification(to=TO, channel="sms")
    assert raised.value.code == "60202" and len(locmem.verification_outbox) == 1


def test_an_approved_code_is_approved_once_then_expired(api_client):
    code = started()
    assert check(api_client, code).json() == {"status": "approved", "valid": True}
    assert check(api_client, code).json() == {"status": "expired", "valid": False}


def test_a_check_without_a_start_is_expired(api_client):
    assert check(api_client, "123456").json() == {"status": "expired", "valid": False}


def test_a_new_start_replaces_the_code_and_its_count_of_checks(api_client):
    first = started()
    assert check(api_client, wrong(first)).json()["status"] == "pending"
    second = started()
    while second == first:  # one chance in a million: ask again
        second = started()
    old, new = locmem.verification_outbox[0], locmem.verification_outbox[-1]
    assert new.sid != old.sid
    assert [check(api_client, first).json()["status"] for _ in range(4)] == ["pending"] * 4
    # Five checks of the new code so far (none carried over): the fifth may still approve it.
    assert check(api_client, second).json() == {"status": "approved", "valid": True}


def test_the_code_is_kept_hashed_in_the_cache_shared_with_the_workers():
    code = started()
    values = stored_values()
    assert len(values) == 2  # the code's digest and its count of checks, nothing else
    assert all(code.encode() not in value for value in values)


def test_concurrent_right_codes_are_approved_once():
    code = started()
    results = hammer(lambda: LocmemBackend().check_verification(to=TO, code=code), 8)
    # One approval; the others find the code gone (20404) or, when more than five checks
    # were counted before the approval removed it, the limit reached (60202).
    assert results.count("approved") == 1
    assert set(results) - {"approved"} <= {"20404", "60202"}


def test_concurrent_wrong_codes_are_all_counted():
    code = started()
    results = hammer(lambda: LocmemBackend().check_verification(to=TO, code=wrong(code)), 8)
    assert sorted(results) == ["60202"] * 3 + ["pending"] * 5


def hammer(call, count: int) -> list[str]:
    """Run `call` in `count` threads at once: each one's status, or its error's code."""
    barrier = threading.Barrier(count)
    results, lock = [], threading.Lock()

    def run():
        barrier.wait()
        try:
            result = call().status
        except PermanentProviderError as exc:
            result = exc.code
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.integration
def test_the_code_never_appears_in_logs_or_the_audit(celery_worker, caplog):
    handler = caplog.handler
    loggers = [logging.getLogger(n) for n in ("", "notifications", "celery")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        client = APIClient()
        assert client.post(START, {"phone_number": TO}, format="json").status_code == 202
        issued = wait_for(lambda: locmem.verification_outbox, what="the code")[0]
        for code in (wrong(issued.code), issued.code, issued.code):
            response = client.post(CHECK, {"phone_number": TO, "code": code}, format="json")
            assert response.status_code == 200
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    lines = [record.getMessage() for record in caplog.records]
    assert any("Verification check for +9198******10: approved" in line for line in lines)
    assert not [line for line in lines if issued.code in line or TO in line]
    rows = [model_to_dict(row) for row in VerificationAttempt.objects.all()]
    assert len(rows) == 4 and issued.code not in json.dumps(rows, default=str)


def test_a_cache_out_of_reach_is_a_transient_provider_error(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens
        }
    }
    with pytest.raises(TransientProviderError):
        LocmemBackend().start_verification(to=TO, channel="sms")
    with pytest.raises(TransientProviderError):
        LocmemBackend().check_verification(to=TO, code="123456")
    assert locmem.verification_outbox == []
