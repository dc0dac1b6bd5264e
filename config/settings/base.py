"""Settings shared by every environment; each value has a default that works locally."""

from datetime import timedelta

from config.env import BASE_DIR, env

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
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"sms_send": env.str("SMS_SEND_THROTTLE_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS notifications API",
    "DESCRIPTION": "Asynchronous SMS delivery through Celery and Twilio.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
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
# has run, and a worker killed mid-task gives its message back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged message after this many seconds. Every retry countdown
# (capped by TWILIO_RETRY_DELAY) must stay below it, or a waiting retry would be delivered
# twice; a system check enforces that.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_sms": {"queue": "sms"},
    "notifications.tasks.start_verification": {"queue": "verify"},
    "notifications.tasks.requeue_stalled_messages": {"queue": "default"},
    "notifications.tasks.purge_webhook_events": {"queue": "default"},
    "notifications.tasks.purge_verification_attempts": {"queue": "default"},
    "notifications.tasks.abandon_stalled_verifications": {"queue": "default"},
}
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-messages": {
        "task": "notifications.tasks.requeue_stalled_messages",
        "schedule": timedelta(minutes=5),
    },
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
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_PHONE_NUMBER = env.str("TWILIO_PHONE_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_VERIFY_SERVICE_SID = env.str("TWILIO_VERIFY_SERVICE_SID", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_RATE_LIMIT = env.int("TWILIO_RATE_LIMIT", default=60)
TWILIO_RETRY_DELAY = env.int("TWILIO_RETRY_DELAY", default=300)
TWILIO_CONNECT_TIMEOUT = env.float("TWILIO_CONNECT_TIMEOUT", default=3.05)
TWILIO_READ_TIMEOUT = env.float("TWILIO_READ_TIMEOUT", default=10.0)

SMS_ENABLED = env.bool("SMS_ENABLED", default=True)
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default=(
        "notifications.backends.twilio.TwilioBackend"
        if TWILIO_ACCOUNT_SID
        else "notifications.backends.console.ConsoleBackend"
    ),
)
SMS_DEFAULT_REGION = env.str("SMS_DEFAULT_REGION", default="IN")
SMS_BATCH_SIZE = env.int("SMS_BATCH_SIZE", default=100)
SMS_RETRY_ATTEMPTS = env.int("SMS_RETRY_ATTEMPTS", default=12)
SMS_VERIFY_ALLOWED_COUNTRIES = env.list("SMS_VERIFY_ALLOWED_COUNTRIES", default=["IN", "US"])
# Phone verification (Twilio Verify): code lifetime, task expiry (below the lifetime), check
# timeout, and the throttles of notifications.throttling (0 turns a limit off).
SMS_VERIFY_CODE_TTL = env.int("SMS_VERIFY_CODE_TTL", default=600)
SMS_VERIFY_TASK_EXPIRES = env.int("SMS_VERIFY_TASK_EXPIRES", default=300)
SMS_VERIFY_CHECK_TIMEOUT = env.float("SMS_VERIFY_CHECK_TIMEOUT", default=5.0)
SMS_VERIFY_RESEND_COOLDOWN = env.int("SMS_VERIFY_RESEND_COOLDOWN", default=30)
SMS_VERIFY_SENDS_PER_NUMBER_HOUR = env.int("SMS_VERIFY_SENDS_PER_NUMBER_HOUR", default=5)
SMS_VERIFY_SENDS_PER_NUMBER_DAY = env.int("SMS_VERIFY_SENDS_PER_NUMBER_DAY", default=10)
SMS_VERIFY_SENDS_PER_IP_HOUR = env.int("SMS_VERIFY_SENDS_PER_IP_HOUR", default=20)
SMS_VERIFY_SENDS_PER_MINUTE = env.int("SMS_VERIFY_SENDS_PER_MINUTE", default=60)
SMS_VERIFY_CHECKS_PER_NUMBER_DAY = env.int("SMS_VERIFY_CHECKS_PER_NUMBER_DAY", default=10)
# Reverse proxies in front of the app that append to X-Forwarded-For (0: REMOTE_ADDR only).
SMS_TRUSTED_PROXY_COUNT = env.int("SMS_TRUSTED_PROXY_COUNT", default=0)
SMS_WEBHOOK_EVENT_RETENTION_DAYS = env.int("SMS_WEBHOOK_EVENT_RETENTION_DAYS", default=30)
SMS_VERIFICATION_RETENTION_DAYS = env.int("SMS_VERIFICATION_RETENTION_DAYS", default=90)
SMS_HELP_TEXT = env.str(
    "SMS_HELP_TEXT", default="Reply STOP to stop receiving messages, START to receive them again."
)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Shown in the web UI, so that a developer finds the local sandbox's inbox.
TWILIO_SANDBOX_INBOX_URL = env.str("TWILIO_SANDBOX_INBOX_URL", default="")

# --- Logging: console plus a rotating logs/sms.log; phone numbers masked everywhere -----
LOG_DIR = BASE_DIR / "logs"
LOG_DIR.mkdir(exist_ok=True)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_phone_numbers": {"()": "notifications.logging.MaskPhoneNumbersFilter"}},
    "formatters": {
        "standard": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "standard",
            "filters": ["mask_phone_numbers"],
        },
        "sms_file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOG_DIR / "sms.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "formatter": "standard",
            "filters": ["mask_phone_numbers"],
            "delay": True,
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "notifications": {
            "handlers": ["console", "sms_file"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        "celery": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The twilio library logs request URLs and parameters (numbers, bodies) at INFO.
        "twilio": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
