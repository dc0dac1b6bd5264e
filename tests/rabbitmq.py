"""RabbitMQ for tests: the suite's server (TEST_RABBITMQ_URL) and a virtual host per test.

A server that is not there fails the tests that need it, never skips them
(bin/ensure-services --rabbitmq starts a local one).
"""

import shutil
import socket
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}"
    return result.stdout


def answers_amqp(host: str, port: int) -> bool:
    """The port answers the AMQP 0-9-1 protocol header with a method frame."""
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.sendall(b"AMQP\x00\x00\x09\x01")
            return conn.recv(3) == b"\x01\x00\x00"
    except OSError:
        return False


@pytest.fixture(scope="session")
def rabbitmq_server() -> str:
    """TEST_RABBITMQ_URL, once it answers; a clear failure (never a skip) when it does not."""
    url = django_settings.TEST_RABBITMQ_URL.rstrip("/")
    parts = urlsplit(url)
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is not installed: these tests make their virtual hosts with it.")
    if not answers_amqp(parts.hostname, parts.port or 5672):
        pytest.fail(
            f"RabbitMQ is not answering at {parts.hostname}:{parts.port or 5672} "
            "(TEST_RABBITMQ_URL): run bin/ensure-services --rabbitmq, which starts a local "
            "rabbitmq-server or says how to install one."
        )
    return url


@pytest.fixture
def vhost(rabbitmq_server):
    """A virtual host of this test's own, deleted afterwards; yields its name and broker URL."""
    name = f"sms-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name, f"{rabbitmq_server}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)
