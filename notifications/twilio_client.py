"""The one module that imports `twilio`: a cached client per thread, calls, error classification.

The client is built once per thread (the library's HTTP client keeps per-request state) with
explicit connect/read timeouts (the library's default is none) and, when TWILIO_API_BASE_URL
is set, an HTTP client that sends every request, Messages and Verify alike, to that base URL
with Twilio's own paths (the local sandbox, or any Twilio double).
"""

import json
import logging
import re
import threading
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from notifications import conf
from notifications.exceptions import (
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

logger = logging.getLogger(__name__)

TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]+\.twilio\.com")
# Twilio error codes that are worth retrying even though they come with a 4xx status:
# 20429 too many requests; 21611 the sender's queue is full (it drains).
TRANSIENT_TWILIO_CODES = frozenset({20429, 21611})


class SMSHttpClient(TwilioHttpClient):
    """Twilio's requests-based client with (connect, read) timeouts, a sized pool, a base URL."""

    def __init__(self, *, base_url: str, timeout: tuple[float, float], pool_size: int = 10):
        super().__init__(pool_connections=True)
        # The parent rejects tuples (it compares the timeout with 0), requests accepts them.
        self.timeout = timeout
        self.base_url = base_url.rstrip("/")
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests reads the proxy variables, no_proxy and the CA bundle from the environment
        # on every call (about a tenth of a send's CPU); this client calls one host, so they
        # are read once, for it, and kept on the session.
        found = self.session.merge_environment_settings(
            self.base_url or "https://api.twilio.com", {}, None, None, None
        )
        self.session.proxies, self.session.verify = found["proxies"], found["verify"]
        self.session.trust_env = False
        self.last_response = None

    def request(self, method, url, *args, **kwargs):
        self.last_response = None
        if self.base_url:
            url = TWILIO_HOST.sub(self.base_url, url)
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        return response


_local = threading.local()


@contextmanager
def _provider_errors(client: Client, classify=None):
    """Turn whatever a call through `client` raises into a ProviderError subclass."""
    try:
        yield
    except Exception as exc:
        raise (classify or classify_error)(exc, client.http_client.last_response) from exc


def get_client() -> Client:
    """This thread's client for the current settings (rebuilt when they change, e.g. in tests)."""
    key = (
        conf.require("TWILIO_ACCOUNT_SID"),
        conf.require("TWILIO_AUTH_TOKEN"),
        conf.get("TWILIO_API_BASE_URL"),
        float(conf.get("TWILIO_CONNECT_TIMEOUT")),
        float(conf.get("TWILIO_READ_TIMEOUT")),
    )
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != key:
        sid, token, base_url, connect_timeout, read_timeout = key
        http_client = SMSHttpClient(base_url=base_url, timeout=(connect_timeout, read_timeout))
        _local.client = (key, Client(sid, token, account_sid=sid, http_client=http_client))
    return _local.client[1]


def request_validator() -> RequestValidator:
    return RequestValidator(conf.require("TWILIO_AUTH_TOKEN"))


def create_message(*, to: str, body: str, sender: str, status_callback: str = "") -> dict:
    """POST a message to Twilio; its JSON resource. Raises a ProviderError subclass."""
    client = get_client()
    params = {"to": to, "body": body}
    if sender.startswith("MG"):
        params["messaging_service_sid"] = sender
    else:
        params["from_"] = sender
    if status_callback:
        params["status_callback"] = status_callback
    with _provider_errors(client):
        instance = client.messages.create(**params)
    return _last_json(client) or {"sid": instance.sid, "status": instance.status}


def list_recent_messages(*, to: str, sender: str, since: datetime, limit: int = 20) -> list[dict]:
    """Outgoing messages to `to` (from `sender` when it is a number) created at or after `since`.

    Newest first, at most `limit`; each as the Messages API's JSON resource.
    """
    client = get_client()
    params = {"to": to, "limit": limit, "page_size": limit}
    if not sender.startswith("MG"):
        params["from_"] = sender
    with _provider_errors(client):
        instances = client.messages.list(**params)
    return [
        {
            "sid": m.sid,
            "status": m.status,
            "body": m.body,
            "to": m.to,
            "date_created": m.date_created.isoformat() if m.date_created else None,
            "num_segments": m.num_segments,
            # A copy adopted by a retry may have failed at once: its code is kept too.
            "error_code": m.error_code,
            "error_message": m.error_message,
        }
        for m in instances
        if m.date_created is None or m.date_created >= since
    ]


def fetch_message(sid: str) -> dict:
    """GET one message by SID; its JSON resource. Raises a ProviderError subclass."""
    client = get_client()
    with _provider_errors(client):
        instance = client.messages(sid).fetch()
    return _last_json(client) or {"sid": instance.sid, "status": instance.status}


def _last_json(client: Client) -> dict:
    response = client.http_client.last_response
    try:
        return json.loads(response.text) if response is not None else {}
    except ValueError:
        return {}


def classify_error(exc: Exception, response=None) -> ProviderError:
    """Transient (retry later) or permanent (record and stop), from the exception and response."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientProviderError(f"Twilio could not be reached: {type(exc).__name__}")
    if isinstance(exc, TwilioRestException):
        code = int(exc.code) if exc.code else None
        status = int(exc.status or 0)
        kwargs = {
            "code": str(code or status),
            "http_status": status,
            "raw": {"code": code, "status": status, "message": exc.msg},
        }
        if status == 429 or code in TRANSIENT_TWILIO_CODES:
            return TransientProviderError(exc.msg, retry_after=retry_after(response), **kwargs)
        if status >= 500 or status in (0, 408):
            return TransientProviderError(exc.msg, **kwargs)
        return PermanentProviderError(exc.msg, **kwargs)
    if isinstance(exc, TwilioException) and response is not None and response.status_code >= 400:
        # A list page that failed ("Unable to fetch page"): Twilio's error is in the response.
        return classify_error(_rest_exception(response), response)
    if isinstance(exc, TwilioException | requests.RequestException):
        # e.g. an unparseable response body: the request may not have been processed.
        return TransientProviderError(f"Twilio answered unexpectedly: {exc}")
    raise exc


def _rest_exception(response) -> TwilioRestException:
    """The error a failed response carries, as the library raises it for single resources."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return TwilioRestException(
        response.status_code,
        getattr(response, "url", ""),
        msg=str(body.get("message") or f"HTTP {response.status_code}"),
        code=body.get("code"),
    )


def retry_after(response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        from django.utils import timezone

        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def fetch_account() -> dict:
    """Fetch our own Account resource: proves the credentials. Raises a ProviderError subclass."""
    client = get_client()
    with _provider_errors(client):
        client.api.v2010.accounts(client.account_sid).fetch()
    return _last_json(client)


def signature_is_valid(*, url: str, params, signature: str) -> bool:
    """Whether X-Twilio-Signature matches `url` and every posted parameter (repeated keys too)."""
    if not signature:
        return False
    return request_validator().validate(url, params, signature)


def twiml_reply(text: str = "") -> str:
    """A TwiML <Response>, with one <Message> when there is something to say."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


# --- Verify v2 ---------------------------------------------------------------------------

# Verify errors that no retry can fix, although some come with HTTP 429:
# 60200 invalid parameter, 60202 max check attempts, 60203 max send attempts, 60212 too many
# concurrent requests for the number, 60410 blocked by Fraud Guard (SMS pumping), 60605
# blocked by the service's geo permissions. https://www.twilio.com/docs/api/errors/<code>
PERMANENT_VERIFY_CODES = frozenset({"60200", "60202", "60203", "60212", "60410", "60605"})


def start_verification(*, to: str, channel: str = "sms") -> dict:
    """Ask Twilio Verify to send a code to `to`: {"sid", "status"}. Raises a ProviderError."""
    client = get_client()
    service = client.verify.v2.services(conf.require("TWILIO_VERIFY_SERVICE_SID"))
    with _provider_errors(client, _verify_error):
        instance = service.verifications.create(to=to, channel=channel)
    return {"sid": instance.sid, "status": instance.status}


def check_verification(*, to: str, code: str, timeout: float | None = None) -> dict:
    """Check `code` for the pending verification of `to`: {"sid", "status", "valid"}.

    `timeout` replaces the read timeout for this call only. A wrong code is a 200 with
    status `pending`; no pending verification (expired or approved) is a
    PermanentProviderError with code 20404, too many checks one with code 60202.
    """
    client = get_client()
    service = client.verify.v2.services(conf.require("TWILIO_VERIFY_SERVICE_SID"))
    http_client = client.http_client
    saved = http_client.timeout
    if timeout is not None:
        http_client.timeout = (saved[0], timeout)  # this thread's client: safe to swap
    try:
        with _provider_errors(client, _verify_error):
            instance = service.verification_checks.create(to=to, code=code)
    finally:
        http_client.timeout = saved
    return {"sid": instance.sid, "status": instance.status, "valid": bool(instance.valid)}


def _verify_error(exc: Exception, response) -> ProviderError:
    error = classify_error(exc, response)
    if isinstance(error, TransientProviderError) and error.code in PERMANENT_VERIFY_CODES:
        return PermanentProviderError(
            error.message, code=error.code, http_status=error.http_status, raw=error.raw
        )
    return error
