"""A body over the size limit is a 413 envelope, refused before it is read, with one log line."""

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.config.test_error_pages import assert_envelope_response

MB = 1024 * 1024
SEND = "/api/sms/send/"


@pytest.fixture
def staff_api_client(staff_client):
    staff_client.raise_request_exception = False
    return staff_client


def assert_one_log_line_without_traceback(records):
    assert len(records) == 1, [r.getMessage() for r in records]
    record = records[0]
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert record.levelno == logging.WARNING


@pytest.mark.django_db
class TestPayloadTooLarge:
    @pytest.mark.parametrize("megabytes", [3, 20])
    def test_a_large_json_body_is_413_with_one_log_line(
        self, staff_api_client, debug, log_records, megabytes
    ):
        payload = {"to": "+919812345610", "body": "x" * (megabytes * MB)}
        response = staff_api_client.post(SEND, payload, format="json")
        assert_envelope_response(response, 413, "payload_too_large")
        assert response.json()["error"]["details"] == {"max_bytes": 2_621_440}
        assert_one_log_line_without_traceback(log_records)

    @pytest.mark.parametrize("path", ["/api/sms/verify/start/", "/webhooks/sms/status/"])
    def test_an_anonymous_large_body_is_413_too(self, debug, log_records, path):
        client = Client(raise_request_exception=False)
        response = client.post(path, b"x" * (3 * MB), content_type="application/json")
        assert_envelope_response(response, 413, "payload_too_large")
        assert_one_log_line_without_traceback(log_records)

    def test_the_body_is_never_read_when_its_declared_length_is_over_the_limit(self, debug):
        """The test client's payload fails the test if more is read than it holds."""
        client = APIClient(raise_request_exception=False)
        response = client.post(
            SEND, b"{}", content_type="application/json", CONTENT_LENGTH=str(20 * MB)
        )
        assert_envelope_response(response, 413, "payload_too_large")

    def test_the_limit_is_django_s_data_upload_max_memory_size(self, staff_api_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
        response = staff_api_client.post(SEND, {"to": "+919812345610", "body": "x" * 100}, "json")
        assert_envelope_response(response, 413, "payload_too_large")
        response = staff_api_client.post(SEND, {"to": "+919812345610", "body": "x"}, "json")
        assert response.status_code == 202

    def test_a_body_at_the_limit_is_read(self, staff_api_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = b'{"to": "+919812345610", "body": "' + b"x" * 900 + b'"}'
        body += b" " * (1000 - len(body))
        response = staff_api_client.post(SEND, body, content_type="application/json")
        assert response.status_code == 202

    def test_elsewhere_django_keeps_its_own_answer(self, admin_client):
        admin_client.raise_request_exception = False
        response = admin_client.post(
            "/admin/login/", b"x" * (3 * MB), content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
