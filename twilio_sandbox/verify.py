"""Verify v2: start a verification, fetch/update it, check a code; codes go to the inbox."""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from . import numbers
from .common import STATE, authenticate, json_response, read_form
from .errors import TwilioError, not_found
from .messages import create_message
from .records import Verification, iso8601, new_sid
from .state import State

SERVICE_SID = re.compile(r"^VA[0-9a-fA-F]{32}$")
CODE = re.compile(r"^[0-9A-Za-z]{4,10}$")
# Limits from https://www.twilio.com/docs/verify/api/rate-limits-and-timeouts,
# https://www.twilio.com/docs/api/errors/60202 and https://www.twilio.com/docs/api/errors/60203:
# a code lives 10 minutes, may be sent 5 times and checked 5 times.
TTL_SECONDS = 600.0
MAX_SENDS = 5
MAX_CHECKS = 5
CHANNELS = frozenset({"sms", "call", "whatsapp"})


def _service(request: web.Request) -> tuple[State, str]:
    state = request.app[STATE]
    authenticate(request, state)
    service = request.match_info["service"]
    if not SERVICE_SID.match(service):
        raise not_found(request.path)
    return state, service  # any well-formed service SID exists (auto-created on first use)


def _current(state: State, service: str, to: str) -> Verification | None:
    verification = state.verifications.get(state.latest_verification.get((service, to), ""))
    if verification is not None:
        verification.refresh(state.now())
    return verification


def _send_code(state: State, verification: Verification) -> None:
    now = state.now()
    channel = verification.channel
    verification.attempts.append(
        {
            "attempt_sid": new_sid("VL"),
            "channel": "SMS" if channel == "sms" else channel,
            "time": iso8601(now),
        }
    )
    verification.updated = now
    message = create_message(
        state,
        to=verification.to,
        sender=state.settings.service_number,
        body=f"Your verification code is: {verification.code}",
        source="verify",
    )
    verification.message_sids.append(message.sid)


async def create_verification(request: web.Request) -> web.Response:
    state, service = _service(request)
    form, _ = await read_form(request)
    to = form.get("To", "").strip()
    channel = form.get("Channel", "").strip()
    if not numbers.E164.match(to):
        raise TwilioError(60200, param="To")
    if channel not in CHANNELS:
        raise TwilioError(60200, param="Channel")
    current = _current(state, service, to)
    if current is not None and current.status == "max_attempts_reached":
        raise TwilioError(60202)  # wait for this verification to expire
    if current is not None and current.status == "pending":
        # Twilio re-sends the same code while a verification is pending, 5 sends at most.
        if len(current.attempts) >= MAX_SENDS:
            raise TwilioError(60203)
        current.channel = channel
        _send_code(state, current)
        return json_response(current.to_api(), 201)
    length = state.settings.verify_services.get(service, state.settings.verify_code_length)
    code = form.get("CustomCode") or "".join(secrets.choice("0123456789") for _ in range(length))
    verification = Verification(
        new_sid("VE"), service, state.settings.account_sid, to, channel, code, state.now(),
        TTL_SECONDS,
    )  # fmt: skip
    state.verifications[verification.sid] = verification
    state.latest_verification[(service, to)] = verification.sid
    state.stats.inc("verifications_created")
    _send_code(state, verification)
    return json_response(verification.to_api(), 201)


def _verification(request: web.Request) -> tuple[State, Verification]:
    state, service = _service(request)
    verification = state.verifications.get(request.match_info["sid"])
    if verification is None or verification.service_sid != service:
        raise not_found(request.path)
    verification.refresh(state.now())
    return state, verification


async def fetch_verification(request: web.Request) -> web.Response:
    return json_response(_verification(request)[1].to_api())


async def update_verification(request: web.Request) -> web.Response:
    state, verification = _verification(request)
    form, _ = await read_form(request)
    status = form.get("Status", "")
    if status not in ("canceled", "approved"):
        raise TwilioError(60200, param="Status")
    if verification.status != "pending":
        raise not_found(request.path)
    verification.status = status
    verification.updated = state.now()
    return json_response(verification.to_api())


async def check(request: web.Request) -> web.Response:
    state, service = _service(request)
    form, _ = await read_form(request)
    code = form.get("Code", "").strip()
    to = form.get("To", "").strip()
    sid = form.get("VerificationSid", "").strip()
    if not to and not sid:
        raise TwilioError(60221)
    if not CODE.match(code):
        raise TwilioError(60200, param="Code")
    if sid:
        verification = state.verifications.get(sid)
        if verification is not None and verification.service_sid != service:
            verification = None
        if verification is not None:
            verification.refresh(state.now())
    else:
        if not numbers.E164.match(to):
            raise TwilioError(60200, param="To")
        verification = _current(state, service, to)
    # Approved, canceled and expired verifications are gone for checks: 404 / 20404.
    if verification is None or verification.status in ("approved", "canceled", "expired"):
        raise not_found(request.path)
    if verification.status == "max_attempts_reached" or verification.checks >= MAX_CHECKS:
        verification.status = "max_attempts_reached"
        raise TwilioError(60202)
    state.stats.inc("verification_checks")
    verification.checks += 1
    verification.updated = state.now()
    if secrets.compare_digest(code, verification.code):
        verification.status = "approved"
    body = verification.to_check_api()
    if verification.status == "pending" and verification.checks >= MAX_CHECKS:
        verification.status = "max_attempts_reached"  # the next check answers 60202
    return json_response(body)
