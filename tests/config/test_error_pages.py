"""Outside DRF views, API paths still answer in the envelope; other pages stay HTML."""

import pytest
from django.test import RequestFactory

from config.exceptions import json_not_found, json_server_error


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_an_unknown_page_is_html(client):
    response = client.get("/nothing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_server_error_on_an_api_path_is_the_envelope():
    response = json_server_error(RequestFactory().get("/api/sms/send/"))
    assert response.status_code == 500
    assert b'"code": "server_error"' in response.content


def test_a_server_error_elsewhere_is_django_s_page():
    response = json_server_error(RequestFactory().get("/admin/"))
    assert response.status_code == 500 and b"Server Error" in response.content


def test_not_found_for_webhook_paths_is_json():
    response = json_not_found(RequestFactory().get("/webhooks/nope/"))
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_the_home_page_links_the_sandbox_inbox(client, settings):
    settings.TWILIO_SANDBOX_INBOX_URL = "http://127.0.0.1:8025/_sandbox/"
    response = client.get("/")
    assert response.status_code == 200 and b"/api/docs/" in response.content
    assert b'href="http://127.0.0.1:8025/_sandbox/"' in response.content
    settings.TWILIO_SANDBOX_INBOX_URL = ""
    assert b"_sandbox" not in client.get("/").content
