"""Shared fixtures: users and API clients, a real in-process Celery worker, the Twilio sandbox."""

import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.backends import locmem
from tests.rabbitmq import rabbitmq_server, vhost  # noqa: F401 (fixtures: a virtual host per test)


@pytest.fixture(autouse=True)
def _clean_outbox_and_cache(request):
    locmem.outbox.clear()
    locmem.verification_outbox.clear()
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff-123", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("plain", password="pw-plain-123")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    token = Token.objects.create(user=staff_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


# --- Celery: the project's own app, a real worker thread consuming the suite's Redis index ----


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (celery.contrib.testing) running the project's app, for one test.

    It lives only as long as the test: a worker left running between tests would consume what
    other tests publish and touch the database while pytest-django flushes it. The test's data
    is committed (transactional_db) so that the worker's threads see it, and the worker stops
    before the flush. Tasks left on the broker by earlier tests are purged first.
    """
    from celery.contrib.testing.worker import start_worker

    from worker import app

    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10
    ):
        yield app


# --- The Twilio sandbox, over real HTTP ---------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_process():
    from twilio_sandbox.testing import SandboxProcess

    process = SandboxProcess(
        account_sid=django_settings.TWILIO_ACCOUNT_SID,
        auth_token=django_settings.TWILIO_AUTH_TOKEN,
        step_delay=0.02,
    )
    with process:
        yield process


@pytest.fixture
def sandbox(sandbox_process, settings):
    """The sandbox, reset, with the Twilio backend pointed at it for this test."""
    sandbox_process.reset()
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    settings.TWILIO_API_BASE_URL = sandbox_process.base_url
    yield sandbox_process
