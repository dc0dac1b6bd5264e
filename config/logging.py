"""The LOGGING dict: console (text or JSON lines), optionally a rotating file; every handler
masks phone numbers."""

from contextlib import suppress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
FORMATTERS = {
    "text": {"format": FIELDS},
    # One JSON object per line for log shippers (python-json-logger): the same fields, by name.
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": FIELDS,
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    },
}


def logging_config(*, level: str, log_format: str, log_file: str) -> dict:
    """Console always; `log_file` (a path, or "" for none) beside it for the app's loggers.

    A file suits one developer machine; containers log to stdout only (production's default),
    since processes rotating one file would step on each other.
    """
    if log_format not in FORMATTERS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {sorted(FORMATTERS)}")
    mask = ["mask_phone_numbers"]
    handlers: dict = {
        "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": mask}
    }
    app_handlers = ["console"]
    if log_file:
        # Production's settings, built on these, log to stdout: where this directory cannot be
        # made (a read-only image), the file handler, opened at its first line, says so then.
        with suppress(OSError):
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers["sms_file"] = {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": log_file,
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "formatter": log_format,
            "filters": mask,
            "delay": True,
        }
        app_handlers.append("sms_file")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_phone_numbers": {"()": "notifications.logging.MaskPhoneNumbersFilter"}},
        "formatters": {log_format: FORMATTERS[log_format]},
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "notifications": {"handlers": app_handlers, "level": level, "propagate": False},
            "portal": {"handlers": app_handlers, "level": level, "propagate": False},
            # The worker's ready line, a line per task received/retried/succeeded, beat's sends.
            "celery": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # The twilio library logs request URLs and parameters (numbers, bodies) at INFO.
            "twilio": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
