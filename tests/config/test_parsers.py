"""The API's JSON parser: a document too deep for Python is a parse error on every endpoint."""

import pytest
from django.test import Client

from tests.notifications.test_api import assert_envelope

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/sms/verify/start/", "/api/sms/verify/check/"])
def test_an_anonymous_deeply_nested_document_is_a_parse_error(path):
    response = Client(raise_request_exception=False).post(
        path, DEEP, content_type="application/json"
    )
    error = assert_envelope(response, 400, "parse_error")
    assert "nested too deeply" in error["message"]


@pytest.mark.django_db
def test_a_document_just_inside_the_recursion_limit_is_parsed(staff_client):
    response = staff_client.post(
        "/api/sms/send/",
        b'{"to": "+919812345610", "body": ' + b"[" * 500 + b"]" * 500 + b"}",
        content_type="application/json",
    )
    assert_envelope(response, 400, "validation_error")
