"""Error classification: which provider failures are retried and which are recorded as final."""

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from notifications.exceptions import PermanentProviderError, TransientProviderError
from notifications.twilio_client import classify_error, retry_after


def rest_error(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, "https://api.twilio.com/x", msg=f"error {code}", code=code)


def response_with(headers: dict) -> requests.Response:
    response = requests.Response()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614, 21608, 20003, 21212, 21606, 21617])
def test_permanent_twilio_errors_are_not_retried(code):
    error = classify_error(rest_error(401 if code == 20003 else 400, code))
    assert isinstance(error, PermanentProviderError)
    assert error.code == str(code)


@pytest.mark.parametrize(
    ("status", "code"), [(500, None), (503, 20500), (502, None), (429, 20429), (400, 21611)]
)
def test_server_errors_and_rate_limits_are_transient(status, code):
    error = classify_error(rest_error(status, code))
    assert isinstance(error, TransientProviderError)
    assert error.http_status == status


@pytest.mark.parametrize(
    "exc", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
def test_network_trouble_is_transient(exc):
    assert isinstance(classify_error(exc), TransientProviderError)


def test_a_429_carries_its_retry_after():
    error = classify_error(rest_error(429, 20429), response_with({"Retry-After": "7"}))
    assert error.retry_after == 7.0


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after(response_with({"Retry-After": "3"})) == 3.0
    assert retry_after(response_with({})) is None
    assert retry_after(None) is None
    assert retry_after(response_with({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(response_with({"Retry-After": "soon"})) is None


def test_programming_errors_are_not_disguised_as_provider_errors():
    with pytest.raises(KeyError):
        classify_error(KeyError("bug"))
