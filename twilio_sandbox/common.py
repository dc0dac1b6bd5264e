"""Helpers shared by the API handlers: the app's state key, auth, form parsing, JSON replies."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .errors import TwilioError
from .state import State

STATE: web.AppKey[State] = web.AppKey("state", State)
FORM_TYPES = ("application/x-www-form-urlencoded", "")


def expected_authorization(account_sid: str, auth_token: str) -> str:
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()


def authenticate(request: web.Request, state: State, account_sid: str | None = None) -> None:
    """HTTP Basic auth with the configured SID/token, else Twilio's 401 / 20003."""
    header = request.headers.get("Authorization", "")
    # Fast path: one string comparison against the precomputed header.
    ok = header == state.expected_auth
    if not ok and header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        ok = user == state.settings.account_sid and password == state.settings.auth_token
    if not ok or (account_sid is not None and account_sid != state.settings.account_sid):
        raise TwilioError(20003)


async def read_form(request: web.Request) -> tuple[dict[str, str], list[str]]:
    """Form fields (first value wins) and the repeated MediaUrl values."""
    if request.content_type not in FORM_TYPES:
        post = await request.post()
        pairs = [(k, str(v)) for k, v in post.items()]
    else:
        pairs = parse_form((await request.read()).decode("utf-8", "replace"))
    form: dict[str, str] = {}
    media: list[str] = []
    for key, value in pairs:
        if key == "MediaUrl":
            media.append(value)
        elif key not in form:
            form[key] = value
    return form, media


_UNQUOTED: dict[str, str] = {}


def _unquote_plus(raw: str) -> str:
    # Phone numbers, SIDs and callback URLs repeat from request to request: caching their
    # decoded form skips urllib's slow unquote on the hot path.
    text = _UNQUOTED.get(raw)
    if text is None:
        text = unquote(raw.replace("+", " ")) if "%" in raw else raw.replace("+", " ")
        if len(raw) <= 256:
            if len(_UNQUOTED) >= 8192:
                _UNQUOTED.clear()
            _UNQUOTED[raw] = text
    return text


def parse_form(text: str) -> list[tuple[str, str]]:
    """application/x-www-form-urlencoded -> pairs, like parse_qsl(keep_blank_values=True)."""
    pairs = []
    for part in text.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((_unquote_plus(key), _unquote_plus(value)))
    return pairs


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )
