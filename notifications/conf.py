"""The app's settings, read from django.conf.settings at call time, with documented defaults.

DEFAULTS is the one source of every default: config/settings/base.py reads each variable from
the environment with its default taken from here, and a test fails when the two drift apart.
"""

from typing import Any

from django.conf import settings

from notifications.exceptions import SMSConfigurationError

DEFAULTS: dict[str, Any] = {
    "SMS_ENABLED": True,
    "SMS_BACKEND": "notifications.backends.console.ConsoleBackend",
    "SMS_DEFAULT_REGION": "IN",  # region of national-format numbers
    "SMS_BATCH_SIZE": 100,
    # 12 retries, 5 s doubling up to the 300 s cap, each waiting between half and all of its
    # backoff: at least ~17 minutes of retrying, so a 15-minute Twilio outage loses nothing.
    "SMS_RETRY_ATTEMPTS": 12,
    "SMS_RETRY_BACKOFF": 5.0,  # seconds; the first retry's nominal delay, doubled each time
    "SMS_RETRY_MIN_DELAY": 1.0,  # seconds; never an immediate retry, whatever the jitter
    "SMS_MAX_BODY_LENGTH": 1600,  # Twilio's own limit (error 21617)
    # Delivery (notifications.delivery, notifications.recovery); seconds unless said.
    # A published message not taken by a worker within this long is published again.
    "SMS_STALLED_AFTER": 900,
    # A run's hold on its messages, renewed every SMS_LEASE_RENEW_INTERVAL while it lives: a
    # dead worker's messages are free this long after its last renewal. It must outlast a
    # renewal interval plus a provider call's timeouts (system check E006), since a run that
    # cannot renew only starts calls that end before its lease can.
    "SMS_LEASE_SECONDS": 30,
    "SMS_LEASE_RENEW_INTERVAL": 5.0,
    # A message whose runs stopped (their workers died) more than this often is failed
    # without another try, with error_code worker_lost_repeatedly; 0 never parks.
    "SMS_MAX_ABANDONED_RUNS": 3,
    # The hard time limit of a delivery task (prefork pool), so that a hung run ends: the
    # pool kills its process, whose lease then runs out.
    "SMS_DELIVERY_TIME_LIMIT": 240,
    # A message waits for its rate slot in the worker only this long; a longer wait defers it.
    "SMS_PACING_HORIZON": 2.0,
    # A deferral due within this long is counted down on the broker (far below its visibility
    # timeout); a later one waits in the database for the dispatcher.
    "SMS_DEFER_COUNTDOWN_MAX": 30,
    "SMS_DISPATCH_INTERVAL": 5.0,  # how often the dispatcher looks for due and lost messages
    "SMS_DISPATCH_BATCH": 10000,  # messages it (or a bulk's pump) hands out in one run at most
    "SMS_DISPATCH_TIME_LIMIT": 30.0,  # how long one dispatcher run may take
    # Missed status callbacks (notifications.refresh): a message Twilio took whose status has
    # not moved for SMS_REFRESH_AFTER is fetched from Twilio by SID, every SMS_REFRESH_INTERVAL,
    # at most SMS_REFRESH_BATCH a run, until it is SMS_REFRESH_GIVE_UP_AFTER old.
    "SMS_REFRESH_AFTER": 600,
    "SMS_REFRESH_INTERVAL": 60.0,
    "SMS_REFRESH_BATCH": 200,
    "SMS_REFRESH_GIVE_UP_AFTER": 172800,
    "SMS_SEND_CONCURRENCY": 8,  # provider calls in flight at once per worker process
    # Workers write a heartbeat per queue they consume this often (notifications.heartbeats);
    # /healthz fails a queue whose newest heartbeat is older than SMS_HEARTBEAT_MAX_AGE.
    "SMS_HEARTBEAT_INTERVAL": 10.0,
    "SMS_HEARTBEAT_MAX_AGE": 45.0,
    "SMS_BULK_MAX_RECIPIENTS": 10000,  # recipients of one bulk request
    "SMS_BULK_PUMP_INTERVAL": 1.0,  # how often a bulk's pump hands out more messages
    # With a sender rate limit, a bulk's messages out with workers: this many seconds' worth.
    "SMS_BULK_LOOKAHEAD": 4.0,
    # How far apart our clock and the provider's may be when matching an earlier attempt.
    "SMS_PROVIDER_CLOCK_SKEW": 120,  # seconds
    "SMS_WEBHOOK_DEDUP_TTL": 2 * 24 * 3600,  # seconds a status callback is remembered
    "SMS_WEBHOOK_EVENT_RETENTION_DAYS": 30,
    "SMS_VERIFICATION_RETENTION_DAYS": 90,
    "SMS_HELP_TEXT": "Reply STOP to stop receiving messages, START to receive them again.",
    # ISO codes a verification may be sent to; empty means none (SMS pumping defence).
    "SMS_VERIFY_ALLOWED_COUNTRIES": ["IN", "US"],
    # Twilio Verify's code lifetime (10 minutes), reported to clients as `expires_in`.
    "SMS_VERIFY_CODE_TTL": 600,
    # Seconds a verification task may wait in the queue: less than the code's lifetime, so a
    # code is never sent so late that it has (nearly) expired by the time the user sees it.
    "SMS_VERIFY_TASK_EXPIRES": 300,
    "SMS_VERIFY_CHECK_TIMEOUT": 5.0,  # read timeout (s) of a check: the user is waiting
    # Verification throttles (notifications.throttling); 0 turns a limit off.
    "SMS_VERIFY_RESEND_COOLDOWN": 30,  # seconds between two sends to one number
    "SMS_VERIFY_SENDS_PER_NUMBER_HOUR": 5,
    "SMS_VERIFY_SENDS_PER_NUMBER_DAY": 10,
    "SMS_VERIFY_SENDS_PER_IP_HOUR": 20,
    "SMS_VERIFY_SENDS_PER_MINUTE": 60,  # global ceiling, all numbers and clients together
    "SMS_VERIFY_CHECKS_PER_NUMBER_DAY": 10,
    # Reverse proxies in front of the app that append the client's address to
    # X-Forwarded-For; 0 trusts REMOTE_ADDR only (a client could forge the header).
    "SMS_TRUSTED_PROXY_COUNT": 0,
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_PHONE_NUMBER": "",
    "TWILIO_MESSAGING_SERVICE_SID": "",
    "TWILIO_VERIFY_SERVICE_SID": "",
    "TWILIO_API_BASE_URL": "",
    # The sender limiter (notifications.ratelimit): segments per minute per sender, 0 = off, and
    # segments that may go at once above it. A burst of 5 lets a message or two go out at once
    # after a pause, yet leaves at most 5 segments beyond the rate in Twilio's queue, where a
    # cancel can no longer reach them.
    "TWILIO_RATE_LIMIT": 60,
    "TWILIO_RATE_BURST": 5,
    "TWILIO_RETRY_DELAY": 300,
    "TWILIO_CONNECT_TIMEOUT": 3.05,
    "TWILIO_READ_TIMEOUT": 10.0,
    # Shown to developers (home page, test_sms) so that they find the sandbox's inbox.
    "TWILIO_SANDBOX_INBOX_URL": "",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    # Kombu's own default for the Redis transport's visibility_timeout, and this project's.
    "CELERY_BROKER_VISIBILITY_TIMEOUT": 3600,
}


def get(name: str) -> Any:
    """The setting's value, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])


def require(name: str) -> Any:
    """The setting's value; a configuration error that names it when it is empty or unset.

    Also for settings without a default here, such as those a third-party backend requires.
    """
    value = getattr(settings, name, DEFAULTS.get(name))
    if value in ("", None):
        raise SMSConfigurationError(
            f"The {name} setting is required by the configured SMS backend."
        )
    return value


def broker_visibility_timeout() -> float:
    """Seconds before the broker redelivers an unacknowledged task, as Celery really uses it.

    Kombu's Redis transport reads CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] (an
    hour when unset); CELERY_BROKER_VISIBILITY_TIMEOUT only feeds that option in base.py.
    """
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    return options.get("visibility_timeout", DEFAULTS["CELERY_BROKER_VISIBILITY_TIMEOUT"])


def sender() -> str:
    """The `From` of outgoing messages: the phone number, or else the Messaging Service."""
    return get("TWILIO_PHONE_NUMBER") or get("TWILIO_MESSAGING_SERVICE_SID")


def status_callback_url() -> str:
    """Where Twilio posts status callbacks: the externally visible URL of the status webhook."""
    from django.urls import reverse

    return get("PUBLIC_BASE_URL").rstrip("/") + reverse("notifications:status-webhook")
