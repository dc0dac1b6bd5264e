"""X-Twilio-Signature: HMAC-SHA1 over the full URL plus the sorted POST parameters, base64."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's webhook signature, as validated by `twilio.request_validator.RequestValidator`.

    Algorithm: https://www.twilio.com/docs/usage/webhooks/webhooks-security#validating-signatures-from-twilio
    (append each POST parameter name and value to the URL, sorted by name; HMAC-SHA1 with the
    auth token as key; base64-encode the digest).
    """
    payload = url + "".join(key + str(params[key]) for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
