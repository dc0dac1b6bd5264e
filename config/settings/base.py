"""Settings shared by every environment; each value has a default that works locally."""

from datetime import timedelta

from config.env import BASE_DIR, env
from config.logging import logging_config
from notifications.conf import DEFAULTS as sms_defaults
from portal.conf import DEFAULTS as portal_defaults

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "notifications",
    "portal",
]

MIDDLEWARE = [
    # First: the API's error envelope must also cover what Django answers for the others.
    "config.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# A request body over this many bytes answers 413 payload_too_large (Django's 2.5 MB default,
# stated here because the API documents it); form fields beyond 1,000 answer 400 bad_request.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Database sessions that refuse keys Django never issues (a NUL would reach PostgreSQL).
SESSION_ENGINE = "config.sessions"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is the zero-config default; WAL lets the web server and the worker write concurrently.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sms",
        "TIMEOUT": 300,
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "admin:login"

# --- Django REST Framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"sms_send": env.str("SMS_SEND_THROTTLE_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS notifications API",
    "DESCRIPTION": (
        "Asynchronous SMS delivery through Celery and Twilio.\n\n"
        "Every error is the envelope `ErrorEnvelope`: "
        '`{"error": {"code", "message", "details"}}`; branch on `code`. Each operation lists '
        "the codes it can answer. On every path under `/api/` and `/webhooks/` also: `404 "
        "not_found` (no such address), `405 method_not_allowed` (with `Allow`), `413 "
        "payload_too_large` (a body over 2.5 MB, refused unread), `400 bad_request` (a request "
        "that cannot be read, e.g. a wrong Host header) and, only when the server itself is "
        "broken, `500 server_error`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Named after what they belong to: a bare "StateEnum" or "ChannelEnum" says nothing in a
    # client's generated code.
    "ENUM_NAME_OVERRIDES": {
        "BulkSendStateEnum": "notifications.models.BulkSend.State",
        "VerificationChannelEnum": "notifications.verification.CHANNELS",
    },
}

# --- Celery (read by worker/ with the CELERY_ namespace) --------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
# Tasks are idempotent (claimed by conditional UPDATE), so a task is acknowledged only once it
# has run, and a worker killed mid-task gives its message back to the queue. A message that
# kills its worker every time does not loop: each take-over of its expired lease is counted on
# the row, and past SMS_MAX_ABANDONED_RUNS it ends failed (worker_lost_repeatedly). Prefetch 1:
# a worker holds no task it is not running, so a dead worker strands nothing but its runs.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged message after this many seconds. Every retry countdown
# (capped by TWILIO_RETRY_DELAY) must stay below it, or a waiting retry would be delivered
# twice; a system check enforces that.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", default=sms_defaults["CELERY_BROKER_VISIBILITY_TIMEOUT"]
)
# A broker that is down or silent must not hold a request whose message is already recorded:
# the publish after commit then gives up (send_sms logs it, the sweepers publish it later).
# Kombu's Redis transport has no socket timeouts by default (a broker that accepts but never
# answers held a request for good) and Celery retries a publish 3 times. With the values below
# (measured on the development machine) a request waits about 0.1 s when nothing listens on
# the broker's port, 2 s when the broker is unreachable, 4 s when it accepts but never answers.
# Redis connects in milliseconds; the socket timeout stays above BRPOP's own 1 s wait.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    # A worker takes from its queues in the order it lists them (worker/app.py: verify, sms,
    # default, bulk), not in turn: a verification code never waits behind a bulk's tasks.
    "queue_order_strategy": "priority",
}
# One quick retry: what a pooled connection left stale by a broker restart needs.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS


# RabbitMQ instead of Redis (CELERY_BROKER_URL=amqp://...): every queue of worker/app.py is a
# quorum queue, replicated and kept on disk, so a node restart loses nothing queued.
RABBITMQ_SCHEMES = ("amqp", "amqps", "pyamqp")


def rabbitmq_settings() -> dict:
    """The CELERY_ settings of a RabbitMQ broker; they replace the Redis ones above."""
    return {
        # Redis-only options (visibility_timeout, queue_order_strategy) would mean nothing here.
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            # A publish returns once the broker has taken the message (a quorum queue: once a
            # majority has written it), else raises: a refused task is never silently lost.
            "confirm_publish": True,
            # The TCP connection and the AMQP handshake, like Redis's socket_connect_timeout.
            "connect_timeout": 2,
            # A broker that accepts but never answers (or blocks publishers on a resource
            # alarm) fails the publish after this long instead of holding a request for good.
            "read_timeout": 4,
            "write_timeout": 4,
        },
        # Dead peers are noticed within about 2 heartbeats (Celery's 120 s: up to 4 minutes).
        "CELERY_BROKER_HEARTBEAT": 30,
        # worker/app.py declares the project's queues with x-queue-type=quorum when this is
        # "quorum"; a queue a worker is told to consume that is not among them, too.
        "CELERY_TASK_DEFAULT_QUEUE_TYPE": "quorum",
        "CELERY_TASK_CREATE_MISSING_QUEUE_TYPE": "quorum",
        # Quorum queues have no global QoS: Celery then sets the prefetch per consumer (static).
        "CELERY_WORKER_DETECT_QUORUM_QUEUES": True,
        # Countdowns (deferrals, retries, a bulk's pump) go through RabbitMQ's own delayed
        # delivery (celery_delayed_* quorum queues), never held unacknowledged in a worker; it
        # routes through a topic exchange, not through the default direct one.
        "CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE": "quorum",
        "CELERY_TASK_DEFAULT_EXCHANGE_TYPE": "topic",
    }


if CELERY_BROKER_URL.split("://", 1)[0] in RABBITMQ_SCHEMES:
    globals().update(rabbitmq_settings())
# A worker started before its broker waits for it instead of exiting, and one whose broker went
# away reconnects every 2 s at most (worker/consumer.py), so it consumes again within seconds.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # for as long as the broker is down
CELERY_WORKER_CONSUMER = "worker.consumer:Consumer"
# Deploys: docker/start-worker maps SIGTERM to Celery's cold shutdown with a soft phase
# (REMAP_SIGTERM=SIGQUIT): running tasks get this long to finish, then the worker hands back
# what is still in hand (acks_late: the broker redelivers it; leases run out) and exits, below
# the compose stop_grace_period (60 s) so that nothing is killed in the middle of its recording.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=30.0)
CELERY_TASK_DEFAULT_QUEUE = "housekeeping"
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_sms": {"queue": "sms"},
    "notifications.tasks.deliver_bulk": {"queue": "bulk"},
    "notifications.tasks.pump_bulk": {"queue": "bulk"},
    "notifications.tasks.start_verification": {"queue": "verify"},
    "notifications.tasks.dispatch_due_messages": {"queue": "housekeeping"},
    "notifications.tasks.requeue_stalled_messages": {"queue": "housekeeping"},
    "notifications.tasks.refresh_stale_messages": {"queue": "housekeeping"},
    "notifications.tasks.purge_webhook_events": {"queue": "housekeeping"},
    "notifications.tasks.purge_verification_attempts": {"queue": "housekeeping"},
    "notifications.tasks.abandon_stalled_verifications": {"queue": "housekeeping"},
}
# Every task has a time limit, so that a hung call never holds a worker slot for good: this
# one for all, tighter ones on the tasks themselves (notifications/tasks.py). The prefork pool
# enforces them (it kills the child); the threads pool of `make run` cannot stop a thread.
CELERY_TASK_TIME_LIMIT = 300
# Task events (received, started, succeeded...) keep Flower's task list live.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "purge-webhook-events": {
        "task": "notifications.tasks.purge_webhook_events",
        "schedule": timedelta(hours=6),
    },
    "abandon-stalled-verifications": {
        "task": "notifications.tasks.abandon_stalled_verifications",
        "schedule": timedelta(minutes=5),
    },
    "purge-verification-attempts": {
        "task": "notifications.tasks.purge_verification_attempts",
        "schedule": timedelta(hours=6),
    },
}

# --- SMS ------------------------------------------------------------------------------
# Every setting of the notifications app, from the environment. The defaults live in one place,
# notifications.conf.DEFAULTS (what the app falls back to), and a test keeps the two equal.


def sms_setting(cast, name: str):
    """`name` from the environment (read with `cast`), by default notifications.conf's."""
    return cast(name, default=sms_defaults[name])


TWILIO_ACCOUNT_SID = sms_setting(env.str, "TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = sms_setting(env.str, "TWILIO_AUTH_TOKEN")
TWILIO_PHONE_NUMBER = sms_setting(env.str, "TWILIO_PHONE_NUMBER")
TWILIO_MESSAGING_SERVICE_SID = sms_setting(env.str, "TWILIO_MESSAGING_SERVICE_SID")
TWILIO_VERIFY_SERVICE_SID = sms_setting(env.str, "TWILIO_VERIFY_SERVICE_SID")
TWILIO_API_BASE_URL = sms_setting(env.str, "TWILIO_API_BASE_URL")
# The sender limiter, shared by every worker: segments per minute per sender (0 = off) and
# segments that may go at once above that rate.
TWILIO_RATE_LIMIT = sms_setting(env.int, "TWILIO_RATE_LIMIT")
TWILIO_RATE_BURST = sms_setting(env.int, "TWILIO_RATE_BURST")
TWILIO_RETRY_DELAY = sms_setting(env.int, "TWILIO_RETRY_DELAY")
TWILIO_CONNECT_TIMEOUT = sms_setting(env.float, "TWILIO_CONNECT_TIMEOUT")
TWILIO_READ_TIMEOUT = sms_setting(env.float, "TWILIO_READ_TIMEOUT")
# Shown in the web UI and by test_sms, so that a developer finds the local sandbox's inbox.
TWILIO_SANDBOX_INBOX_URL = sms_setting(env.str, "TWILIO_SANDBOX_INBOX_URL")

SMS_ENABLED = sms_setting(env.bool, "SMS_ENABLED")
# Twilio when credentials are set, else the app's default (the console backend).
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default=(
        "notifications.backends.twilio.TwilioBackend"
        if TWILIO_ACCOUNT_SID
        else sms_defaults["SMS_BACKEND"]
    ),
)
SMS_DEFAULT_REGION = sms_setting(env.str, "SMS_DEFAULT_REGION")
SMS_BATCH_SIZE = sms_setting(env.int, "SMS_BATCH_SIZE")
SMS_MAX_BODY_LENGTH = sms_setting(env.int, "SMS_MAX_BODY_LENGTH")
# Retries of a transient failure: count, first backoff and floor (s); TWILIO_RETRY_DELAY caps it.
SMS_RETRY_ATTEMPTS = sms_setting(env.int, "SMS_RETRY_ATTEMPTS")
SMS_RETRY_BACKOFF = sms_setting(env.float, "SMS_RETRY_BACKOFF")
SMS_RETRY_MIN_DELAY = sms_setting(env.float, "SMS_RETRY_MIN_DELAY")
# Recovery of lost tasks (s): idle time before a `pending` row is published again, and the
# clock skew allowed when matching the provider's copy of an earlier attempt.
SMS_STALLED_AFTER = sms_setting(env.int, "SMS_STALLED_AFTER")
# Delivery engine: leases, pacing, deferrals, the dispatcher, bulk fan-out (see conf.DEFAULTS).
SMS_LEASE_SECONDS = sms_setting(env.int, "SMS_LEASE_SECONDS")
SMS_LEASE_RENEW_INTERVAL = sms_setting(env.float, "SMS_LEASE_RENEW_INTERVAL")
SMS_MAX_ABANDONED_RUNS = sms_setting(env.int, "SMS_MAX_ABANDONED_RUNS")
SMS_DELIVERY_TIME_LIMIT = sms_setting(env.int, "SMS_DELIVERY_TIME_LIMIT")
SMS_PACING_HORIZON = sms_setting(env.float, "SMS_PACING_HORIZON")
SMS_DEFER_COUNTDOWN_MAX = sms_setting(env.int, "SMS_DEFER_COUNTDOWN_MAX")
SMS_DISPATCH_INTERVAL = sms_setting(env.float, "SMS_DISPATCH_INTERVAL")
SMS_DISPATCH_BATCH = sms_setting(env.int, "SMS_DISPATCH_BATCH")
SMS_DISPATCH_TIME_LIMIT = sms_setting(env.float, "SMS_DISPATCH_TIME_LIMIT")
SMS_SEND_CONCURRENCY = sms_setting(env.int, "SMS_SEND_CONCURRENCY")
SMS_HEARTBEAT_INTERVAL = sms_setting(env.float, "SMS_HEARTBEAT_INTERVAL")
SMS_HEARTBEAT_MAX_AGE = sms_setting(env.float, "SMS_HEARTBEAT_MAX_AGE")
SMS_BULK_MAX_RECIPIENTS = sms_setting(env.int, "SMS_BULK_MAX_RECIPIENTS")
SMS_BULK_PUMP_INTERVAL = sms_setting(env.float, "SMS_BULK_PUMP_INTERVAL")
SMS_BULK_LOOKAHEAD = sms_setting(env.float, "SMS_BULK_LOOKAHEAD")
CELERY_BEAT_SCHEDULE["dispatch-due-messages"] = {
    "task": "notifications.tasks.dispatch_due_messages",
    "schedule": SMS_DISPATCH_INTERVAL,
    # A run that waited longer than its interval has been overtaken by the next one.
    "options": {"expires": SMS_DISPATCH_INTERVAL},
}
# Missed status callbacks: statuses that stopped moving are fetched from Twilio.
SMS_REFRESH_AFTER = sms_setting(env.int, "SMS_REFRESH_AFTER")
SMS_REFRESH_INTERVAL = sms_setting(env.float, "SMS_REFRESH_INTERVAL")
SMS_REFRESH_BATCH = sms_setting(env.int, "SMS_REFRESH_BATCH")
SMS_REFRESH_GIVE_UP_AFTER = sms_setting(env.int, "SMS_REFRESH_GIVE_UP_AFTER")
CELERY_BEAT_SCHEDULE["refresh-stale-messages"] = {
    "task": "notifications.tasks.refresh_stale_messages",
    "schedule": SMS_REFRESH_INTERVAL,
    "options": {"expires": SMS_REFRESH_INTERVAL},
}
SMS_PROVIDER_CLOCK_SKEW = sms_setting(env.int, "SMS_PROVIDER_CLOCK_SKEW")
SMS_WEBHOOK_DEDUP_TTL = sms_setting(env.int, "SMS_WEBHOOK_DEDUP_TTL")
SMS_VERIFY_ALLOWED_COUNTRIES = sms_setting(env.list, "SMS_VERIFY_ALLOWED_COUNTRIES")
# Phone verification (Twilio Verify): code lifetime, task expiry (below the lifetime), check
# timeout, and the throttles of notifications.throttling (0 turns a limit off).
SMS_VERIFY_CODE_TTL = sms_setting(env.int, "SMS_VERIFY_CODE_TTL")
SMS_VERIFY_TASK_EXPIRES = sms_setting(env.int, "SMS_VERIFY_TASK_EXPIRES")
SMS_VERIFY_CHECK_TIMEOUT = sms_setting(env.float, "SMS_VERIFY_CHECK_TIMEOUT")
SMS_VERIFY_RESEND_COOLDOWN = sms_setting(env.int, "SMS_VERIFY_RESEND_COOLDOWN")
SMS_VERIFY_SENDS_PER_NUMBER_HOUR = sms_setting(env.int, "SMS_VERIFY_SENDS_PER_NUMBER_HOUR")
SMS_VERIFY_SENDS_PER_NUMBER_DAY = sms_setting(env.int, "SMS_VERIFY_SENDS_PER_NUMBER_DAY")
SMS_VERIFY_SENDS_PER_IP_HOUR = sms_setting(env.int, "SMS_VERIFY_SENDS_PER_IP_HOUR")
SMS_VERIFY_SENDS_PER_MINUTE = sms_setting(env.int, "SMS_VERIFY_SENDS_PER_MINUTE")
SMS_VERIFY_CHECKS_PER_NUMBER_DAY = sms_setting(env.int, "SMS_VERIFY_CHECKS_PER_NUMBER_DAY")
# Reverse proxies in front of the app that append to X-Forwarded-For (0: REMOTE_ADDR only).
SMS_TRUSTED_PROXY_COUNT = sms_setting(env.int, "SMS_TRUSTED_PROXY_COUNT")
SMS_WEBHOOK_EVENT_RETENTION_DAYS = sms_setting(env.int, "SMS_WEBHOOK_EVENT_RETENTION_DAYS")
SMS_VERIFICATION_RETENTION_DAYS = sms_setting(env.int, "SMS_VERIFICATION_RETENTION_DAYS")
SMS_HELP_TEXT = sms_setting(env.str, "SMS_HELP_TEXT")
PUBLIC_BASE_URL = sms_setting(env.str, "PUBLIC_BASE_URL")

# --- Placement portal (read through portal/conf.py, whose DEFAULTS are the defaults) -------
PORTAL_NAME = env.str("PORTAL_NAME", default=portal_defaults["PORTAL_NAME"])
PORTAL_MAX_TEMPLATE_SEGMENTS = portal_defaults["PORTAL_MAX_TEMPLATE_SEGMENTS"]

# --- Logging: console (text, or JSON lines for log shippers) plus, on a developer machine, a
# rotating logs/sms.log; phone numbers masked everywhere (config/logging.py).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_FILE = env.str("LOG_FILE", default=str(BASE_DIR / "logs" / "sms.log"))
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT, log_file=LOG_FILE)
# Celery's worker and beat keep this configuration: by default they empty the `celery` logger's
# handlers as they start, and with `propagate: False` its lines then went nowhere.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
