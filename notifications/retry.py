"""Retry delays: exponential backoff with jitter and a floor, capped, honouring Retry-After."""

import random

from notifications import conf


def retry_delay(retries: int, *, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `retries + 1`.

    Nominal delay SMS_RETRY_BACKOFF * 2**retries, capped by TWILIO_RETRY_DELAY; "equal jitter"
    picks between half and all of it, so that workers retrying together spread out but never
    retry at once (SMS_RETRY_MIN_DELAY is the floor). A provider's Retry-After is honoured up
    to the cap, which stays below the broker's visibility timeout (see notifications.checks).
    """
    cap = float(conf.get("TWILIO_RETRY_DELAY"))
    nominal = min(float(conf.get("SMS_RETRY_BACKOFF")) * (2**retries), cap)
    delay = random.uniform(nominal / 2, nominal)
    if retry_after:
        delay = max(delay, min(retry_after, cap))
    return max(delay, float(conf.get("SMS_RETRY_MIN_DELAY")))
