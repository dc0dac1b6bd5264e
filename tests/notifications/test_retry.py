from notifications.retry import retry_delay


def test_delays_grow_exponentially_within_their_jitter_band(settings):
    settings.SMS_RETRY_BACKOFF, settings.TWILIO_RETRY_DELAY, settings.SMS_RETRY_MIN_DELAY = (
        5,
        300,
        1,
    )
    for retries, nominal in [(0, 5), (1, 10), (2, 20), (5, 160), (6, 300), (20, 300)]:
        delays = [retry_delay(retries) for _ in range(200)]
        assert min(delays) >= nominal / 2
        assert max(delays) <= nominal
        assert len(set(delays)) > 1  # jittered


def test_there_is_never_an_immediate_retry(settings):
    settings.SMS_RETRY_BACKOFF, settings.SMS_RETRY_MIN_DELAY = 0.001, 0.5
    assert min(retry_delay(0) for _ in range(200)) >= 0.5


def test_retry_after_is_honoured_up_to_the_cap(settings):
    settings.SMS_RETRY_BACKOFF, settings.TWILIO_RETRY_DELAY, settings.SMS_RETRY_MIN_DELAY = (
        1,
        300,
        0.1,
    )
    assert retry_delay(0, retry_after=42) == 42
    assert retry_delay(0, retry_after=10_000) == 300


def test_default_schedule_outlasts_a_fifteen_minute_outage(settings):
    """With the defaults, even the shortest jitter draw keeps retrying for over 15 minutes."""
    from notifications.conf import DEFAULTS

    for name in (
        "SMS_RETRY_BACKOFF",
        "TWILIO_RETRY_DELAY",
        "SMS_RETRY_ATTEMPTS",
        "SMS_RETRY_MIN_DELAY",
    ):
        setattr(settings, name, DEFAULTS[name])
    shortest = sum(
        min(DEFAULTS["SMS_RETRY_BACKOFF"] * 2**n, DEFAULTS["TWILIO_RETRY_DELAY"]) / 2
        for n in range(DEFAULTS["SMS_RETRY_ATTEMPTS"])
    )
    assert shortest > 15 * 60
    assert all(retry_delay(n) >= min(5 * 2**n, 300) / 2 for n in range(12))
    assert DEFAULTS["TWILIO_RETRY_DELAY"] < DEFAULTS["CELERY_BROKER_VISIBILITY_TIMEOUT"]
