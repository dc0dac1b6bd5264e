"""A NUL in a session cookie or a token is a refused credential, never a 500.

PostgreSQL refuses a NUL even inside a lookup, and both credentials are looked up in it. Django
decodes `\\000` in a quoted cookie value into a NUL; a NUL in a header reaches the app under a
lenient server (runserver). Either is answered like any other unknown credential.
"""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SEND = "/api/sms/send/"
# As sent on the wire: Django's cookie parser decodes the quoted `\\000` into a NUL.
NUL_SESSION = 'sessionid="abcdefgh\\000ij"'


@pytest.mark.parametrize("path", [SEND, "/api/sms/status/5b0c6f0e-4a51-4a36-9d2b-0e6c1f6f3b2a/"])
def test_a_session_cookie_with_a_nul_is_no_session(client, path):
    response = client.generic("POST" if path == SEND else "GET", path, HTTP_COOKIE=NUL_SESSION)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_admin_treats_a_session_cookie_with_a_nul_as_logged_out(client):
    response = client.get("/admin/", HTTP_COOKIE=NUL_SESSION)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("key", ["abc\x00def", "\x00" * 40, "ab\x00" + "0" * 37])
def test_a_token_with_a_nul_is_an_invalid_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Invalid token.",
        "details": {},
    }


def test_a_real_session_still_works(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/api/sms/status/5b0c6f0e-4a51-4a36-9d2b-0e6c1f6f3b2a/")
    assert response.status_code == 404
