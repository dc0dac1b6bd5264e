"""System checks: settings that would lose or duplicate messages are refused at start-up."""

from django.core import checks
from django.utils.module_loading import import_string

from notifications import conf


@checks.register()
def check_sms_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    cap = conf.get("TWILIO_RETRY_DELAY")
    visibility = conf.get("CELERY_BROKER_VISIBILITY_TIMEOUT")
    if cap >= visibility:
        errors.append(
            checks.Error(
                f"TWILIO_RETRY_DELAY ({cap} s) must stay below the broker visibility timeout "
                f"({visibility} s), or a waiting retry is delivered twice.",
                id="notifications.E001",
            )
        )
    expires, ttl = conf.get("SMS_VERIFY_TASK_EXPIRES"), conf.get("SMS_VERIFY_CODE_TTL")
    if expires >= ttl:
        errors.append(
            checks.Error(
                f"SMS_VERIFY_TASK_EXPIRES ({expires} s) must stay below the code's lifetime "
                f"SMS_VERIFY_CODE_TTL ({ttl} s), or a stale code could be delivered late.",
                id="notifications.E005",
            )
        )
    try:
        import_string(conf.get("SMS_BACKEND"))
    except ImportError as exc:
        errors.append(
            checks.Error(f"SMS_BACKEND cannot be imported: {exc}", id="notifications.E002")
        )
    if conf.get("SMS_BACKEND").endswith("TwilioBackend"):
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            if not conf.get(name):
                errors.append(
                    checks.Error(
                        f"{name} is required by the Twilio backend.", id="notifications.E003"
                    )
                )
        if not conf.sender():
            errors.append(
                checks.Error(
                    "Set TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID.",
                    id="notifications.E004",
                )
            )
    return errors
