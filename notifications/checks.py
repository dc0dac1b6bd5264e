"""System checks: settings that would lose or duplicate messages are refused at start-up."""

from django.core import checks
from django.utils.module_loading import import_string

from notifications import conf
from notifications.backends.base import BaseSMSBackend
from notifications.delivery import leases


@checks.register()
def check_sms_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    cap = conf.get("TWILIO_RETRY_DELAY")
    visibility = conf.broker_visibility_timeout()
    if cap >= visibility:
        errors.append(
            checks.Error(
                f"TWILIO_RETRY_DELAY ({cap} s) must stay below the broker visibility timeout "
                f'(CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], {visibility} s), '
                "or a waiting retry is delivered twice.",
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
    lease, renewal = conf.get("SMS_LEASE_SECONDS"), conf.get("SMS_LEASE_RENEW_INTERVAL")
    if lease <= renewal + leases.call_budget():
        errors.append(
            checks.Error(
                f"SMS_LEASE_SECONDS ({lease} s) must exceed SMS_LEASE_RENEW_INTERVAL "
                f"({renewal} s) plus a provider call's timeouts and margin "
                f"({leases.call_budget():g} s), or a run would stop sending after every "
                "missed renewal.",
                id="notifications.E006",
            )
        )
    errors.extend(_backend_checks())
    return errors


def _backend_checks() -> list[checks.CheckMessage]:
    """What the configured backend class itself requires (E002 when SMS_BACKEND is none)."""
    path = conf.get("SMS_BACKEND")
    try:
        backend = import_string(path)
    except ImportError as exc:
        return [checks.Error(f"SMS_BACKEND cannot be imported: {exc}", id="notifications.E002")]
    if not (isinstance(backend, type) and issubclass(backend, BaseSMSBackend)):
        return [
            checks.Error(
                f"SMS_BACKEND {path} is not a subclass of BaseSMSBackend.",
                id="notifications.E002",
            )
        ]
    return backend.check()
