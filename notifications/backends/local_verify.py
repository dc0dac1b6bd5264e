"""Phone verification without a provider, for the console and locmem backends.

Codes come from `secrets` and are kept only as an HMAC (keyed by SECRET_KEY, so a copy of Redis
does not give them away) in the Django cache, which web and worker processes share, for
SMS_VERIFY_CODE_TTL seconds. The rules are Twilio Verify's, so that development and tests see
what production does: five checks per code, then MAX_CHECK_ATTEMPTS (also for a new start, until
the code expires); a code is approved once, then there is NO_PENDING_VERIFICATION; a new start
replaces a pending code.
"""

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac
from redis.exceptions import RedisError

from notifications import conf
from notifications.backends.base import (
    MAX_CHECK_ATTEMPTS,
    NO_PENDING_VERIFICATION,
    VerificationChecked,
    VerificationStarted,
)
from notifications.exceptions import PermanentProviderError, TransientProviderError

CODE_LENGTH = 6
MAX_CHECKS = 5


@dataclass(frozen=True)
class IssuedCode:
    """A code on its way to the person: what a local backend prints or keeps."""

    sid: str
    to: str
    channel: str
    code: str


class LocalVerification:
    """start_verification() and check_verification() for a backend without a provider;
    the backend shows the code to the developer or the test in deliver_code()."""

    def deliver_code(self, issued: IssuedCode) -> None:
        raise NotImplementedError

    def start_verification(self, *, to: str, channel: str) -> VerificationStarted:
        sid = "VE" + uuid.uuid4().hex
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
        with _cache_errors():
            current = cache.get(_code_key(to))
            if current and cache.get(_checks_key(current["sid"]), 0) >= MAX_CHECKS:
                raise _max_checks()  # as Twilio: no new code until this one expires
            cache.set_many(
                {_code_key(to): {"sid": sid, "digest": _digest(sid, code)}, _checks_key(sid): 0},
                timeout=int(conf.get("SMS_VERIFY_CODE_TTL")),
            )
        self.deliver_code(IssuedCode(sid=sid, to=to, channel=channel, code=code))
        return VerificationStarted(sid=sid, status="pending")

    def check_verification(
        self, *, to: str, code: str, timeout: float | None = None
    ) -> VerificationChecked:
        with _cache_errors():
            current = cache.get(_code_key(to))
            if current is None:
                raise _no_pending()
            sid = current["sid"]
            try:
                checks = cache.incr(_checks_key(sid))  # atomic: concurrent guesses count too
            except ValueError:  # the code expired since it was read
                raise _no_pending() from None
            if checks > MAX_CHECKS:
                raise _max_checks()
            if not constant_time_compare(current["digest"], _digest(sid, code)):
                return VerificationChecked(sid=sid, status="pending", valid=False)
            if not cache.delete(_code_key(to)):  # a concurrent check approved it first
                raise _no_pending()
        return VerificationChecked(sid=sid, status="approved", valid=True)


@contextmanager
def _cache_errors() -> Iterator[None]:
    """Redis out of reach is this backend's provider outage: a start retries, a check is 503."""
    try:
        yield
    except RedisError as exc:
        raise TransientProviderError(
            f"The cache of verification codes is unreachable: {exc}"
        ) from exc


def _code_key(to: str) -> str:
    return f"sms:verify:{to}"


def _checks_key(sid: str) -> str:
    return f"sms:verify:{sid}:checks"


def _digest(sid: str, code: str) -> str:
    return salted_hmac(
        "notifications.local_verify", f"{sid}:{code}", algorithm="sha256"
    ).hexdigest()


def _no_pending() -> PermanentProviderError:
    return PermanentProviderError(
        "No pending verification for this number.", code=NO_PENDING_VERIFICATION, http_status=404
    )


def _max_checks() -> PermanentProviderError:
    return PermanentProviderError(
        "Max check attempts reached.", code=MAX_CHECK_ATTEMPTS, http_status=429
    )
