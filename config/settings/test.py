"""Test settings: PostgreSQL and a Redis database index of the suite's own.

The suite never touches the database or Redis index that `make run` uses: it reads
TEST_DATABASE_URL and TEST_REDIS_URL, not DATABASE_URL and REDIS_URL.
"""

import tempfile
from pathlib import Path

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS, LOGGING

DEBUG = False
SECRET_KEY = "test-only-secret-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATABASES = {
    "default": env.db(
        "TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/sms_notifications"
    )
}
DATABASES["default"]["TEST"] = {
    "NAME": env.str("TEST_DATABASE_NAME", default="test_sms_notifications")
}

REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/13")
CACHES["default"]["LOCATION"] = REDIS_URL
CACHES["default"]["KEY_PREFIX"] = "sms-test"
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
# Each test starts and stops its own worker; a 0.1 s BRPOP lets it stop in about 0.2 s, not 1 s.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "polling_interval": 0.1,
}
# The RabbitMQ server of tests/worker/test_rabbitmq.py, which makes a virtual host of its own on
# it for each test (the broker of the rest of the suite stays the Redis index above).
TEST_RABBITMQ_URL = env.str("TEST_RABBITMQ_URL", default="amqp://guest:guest@127.0.0.1:5672")

TWILIO_ACCOUNT_SID = "AC" + "0" * 31 + "1"
TWILIO_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TWILIO_PHONE_NUMBER = "+15005550006"
TWILIO_MESSAGING_SERVICE_SID = ""
TWILIO_VERIFY_SERVICE_SID = "VA" + "0" * 31 + "1"
TWILIO_API_BASE_URL = ""  # the sandbox fixture sets it
TWILIO_RETRY_DELAY = 2
SMS_BACKEND = "notifications.backends.locmem.LocmemBackend"
SMS_ENABLED = True
SMS_DEFAULT_REGION = "IN"
SMS_RETRY_ATTEMPTS = 3
# No sender rate limit unless a test is about it (notifications.ratelimit).
TWILIO_RATE_LIMIT = 0
# Retries in tests wait tenths of a second, not seconds.
SMS_RETRY_BACKOFF = 0.1
SMS_RETRY_MIN_DELAY = 0.05
PUBLIC_BASE_URL = "http://testserver"
# Workers beat every half second, so that /healthz tests see a started worker at once.
SMS_HEARTBEAT_INTERVAL = 0.5
# Tests do not run collectstatic: WhiteNoise serves through the finders instead of STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# The suite logs a lot; its file (kept: it carries the masking filter too) lives outside the
# repository and stays small.
TEST_LOG_DIR = Path(tempfile.gettempdir()) / "sms-notifications-tests"
TEST_LOG_DIR.mkdir(exist_ok=True)
LOGGING["handlers"]["sms_file"].update(
    filename=str(TEST_LOG_DIR / "sms.log"), maxBytes=1024 * 1024, backupCount=1
)
