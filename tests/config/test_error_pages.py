"""On API paths every error is the envelope, in every mode; other pages stay Django's HTML."""

import json
import logging

import pytest
from django.test import Client, RequestFactory

from config.exceptions import json_bad_request, json_not_found, json_server_error
from tests.notifications.test_api import assert_envelope

BROKEN_URLS = "tests.config.broken_urls"


@pytest.fixture
def client():
    """A client that answers like a server: a view's exception becomes the response."""
    return Client(raise_request_exception=False)


def assert_no_traceback(response):
    text = response.content.decode()
    assert "Traceback" not in text and "KeyError" not in text and "<html" not in text.lower()


@pytest.mark.django_db
class TestEveryMode:
    @pytest.mark.parametrize("path", ["/api/nothing/", "/webhooks/nothing/", "/api/sms/status/"])
    def test_an_unknown_api_path_is_a_404_envelope(self, client, debug, path):
        response = assert_envelope_response(client.get(path), 404, "not_found")
        assert_no_traceback(response)

    def test_an_unknown_page_elsewhere_is_django_s_html_404(self, client, debug):
        response = client.get("/nothing/")
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("post", "/api/docs/", "GET, HEAD, OPTIONS"),
            ("delete", "/api/schema/", "GET, HEAD, OPTIONS"),
            ("get", "/api/sms/verify/start/", "POST, OPTIONS"),
            ("trace", "/webhooks/sms/status/", "POST"),
        ],
    )
    def test_a_wrong_method_is_a_405_envelope_with_allow(self, client, debug, method, path, allow):
        response = getattr(client, method)(path)
        assert_envelope_response(response, 405, "method_not_allowed")
        assert response["Allow"] == allow

    @pytest.mark.urls(BROKEN_URLS)
    @pytest.mark.parametrize("path", ["/api/broken/", "/api/broken-page/", "/webhooks/broken/"])
    def test_a_bug_on_an_api_path_is_a_500_envelope_and_a_logged_traceback(
        self, client, debug, path, log_records
    ):
        response = client.get(path)
        assert_envelope_response(response, 500, "server_error")
        assert_no_traceback(response)
        errors = [r for r in log_records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info and errors[0].exc_info[0] is KeyError

    @pytest.mark.urls(BROKEN_URLS)
    def test_a_bug_elsewhere_is_django_s_500_page(self, client, debug):
        response = client.get("/broken/")
        assert response.status_code == 500 and response["Content-Type"].startswith("text/html")

    def test_a_bad_host_header_on_an_api_path_is_a_400_envelope(self, client, debug):
        response = client.get("/api/sms/send/", HTTP_HOST="evil.example")
        assert_envelope_response(response, 400, "bad_request")
        assert_no_traceback(response)

    def test_a_bad_host_header_elsewhere_is_django_s_400_page(self, client, debug):
        response = client.get("/", HTTP_HOST="evil.example")
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def assert_envelope_response(response, status: int, code: str):
    assert response["Content-Type"] == "application/json", response.content[:300]
    assert_envelope(response, status, code)
    return response


def test_the_handlers_answer_the_envelope_on_api_paths():
    request = RequestFactory().get("/webhooks/nope/")
    for handler, status, code in [
        (json_bad_request, 400, "bad_request"),
        (json_not_found, 404, "not_found"),
    ]:
        response = handler(request, Exception())
        assert response.status_code == status and response["Content-Type"] == "application/json"
        assert json.loads(response.content)["error"]["code"] == code
    response = json_server_error(RequestFactory().get("/api/sms/send/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_a_server_error_elsewhere_is_django_s_page():
    response = json_server_error(RequestFactory().get("/admin/"))
    assert response.status_code == 500 and b"Server Error" in response.content


@pytest.mark.django_db
def test_the_home_page_links_the_sandbox_inbox(client, settings):
    settings.TWILIO_SANDBOX_INBOX_URL = "http://127.0.0.1:8025/_sandbox/"
    response = client.get("/")
    assert response.status_code == 200 and b"/api/docs/" in response.content
    assert b'href="http://127.0.0.1:8025/_sandbox/"' in response.content
    settings.TWILIO_SANDBOX_INBOX_URL = ""
    assert b"_sandbox" not in client.get("/").content
