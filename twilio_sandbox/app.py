"""The aiohttp application: Twilio's API routes, the control routes, faults and counters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from . import accounts, control, inbound, inbox, messages, verify
from .common import STATE, expected_authorization
from .errors import TwilioError, error_response, not_found
from .state import Settings, State

log = logging.getLogger("twilio_sandbox")
# Creates, for the "accept then fail" faults: the resource exists, the answer goes wrong.
CREATE_ENDPOINTS = frozenset({"messages.create", "verify.verification.create"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _before(request: web.Request, state: State, scope: str) -> web.Response | None:
    """Request-level faults: latency, then 429 / 503 / 500 answers instead of the real one."""
    faults, method = state.faults, request.method
    latency = faults.rules.get("latency")
    if latency is not None and latency.fires(scope, method):
        await asyncio.sleep(latency.delay())
    if faults.fires("http_429", scope, method):
        state.stats.fault("http_429")
        retry_after = str(faults.rules["http_429"].retry_after)
        # https://www.twilio.com/docs/api/errors/20429
        return error_response(20429, 429, "Too Many Requests", {"Retry-After": retry_after})
    for name, code, status in (("http_503", 20503, 503), ("http_500", 20500, 500)):
        if faults.fires(name, scope, method):
            state.stats.fault(name)
            return TwilioError(code, status=status).response()
    return None


async def _after(
    request: web.Request, state: State, scope: str, endpoint: str, response: web.StreamResponse
) -> web.StreamResponse:
    """Accept-then-fail faults: the create succeeded, but the client gets a 500 or no answer."""
    if endpoint not in CREATE_ENDPOINTS or not 200 <= response.status < 300:
        return response
    faults = state.faults
    if faults.fires("accept_then_drop", scope, request.method):
        state.stats.fault("accept_then_drop")
        state.stats.request(endpoint, "dropped")
        if request.transport is not None:
            request.transport.abort()  # connection reset, no HTTP response at all
        # Abandon the handler so aiohttp writes nothing (and logs nothing) on the dead socket.
        raise asyncio.CancelledError
    if faults.fires("accept_then_500", scope, request.method):
        state.stats.fault("accept_then_500")
        return TwilioError(20500).response()
    return response


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/2010-04-01/"):
        scope = "messages"
    elif path.startswith("/v2/"):
        scope = "verify"
    else:
        return await handler(request)  # control routes: no faults, no counting
    state = request.app[STATE]
    endpoint = request.match_info.route.name or "unmatched"
    response: web.StreamResponse | None = None
    try:
        if state.faults.rules:
            response = await _before(request, state, scope)
        if response is None:
            response = await handler(request)
            if state.faults.rules:
                response = await _after(request, state, scope, endpoint, response)
    except TwilioError as exc:
        response = exc.response(
            {"WWW-Authenticate": 'Basic realm="Twilio API"'} if exc.code == 20003 else None
        )
    except web.HTTPMethodNotAllowed:
        response = TwilioError(20004).response()
    except web.HTTPNotFound:
        response = not_found(path).response()
    state.stats.request(endpoint, response.status)
    return response


async def _root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/_sandbox/")


def build_app(settings: Settings, fault_spec: dict[str, Any] | None = None) -> web.Application:
    state = State(settings, fault_spec)
    state.expected_auth = expected_authorization(settings.account_sid, settings.auth_token)
    app = web.Application(middlewares=[api_middleware])
    app[STATE] = state
    account = "/2010-04-01/Accounts/{account}"
    service = "/v2/Services/{service}"
    r = app.router
    r.add_get(account + ".json", accounts.fetch, name="accounts.fetch", allow_head=False)
    r.add_post(account + "/Messages.json", messages.create, name="messages.create")
    r.add_get(account + "/Messages.json", messages.list_messages, name="messages.list",
              allow_head=False)  # fmt: skip
    one = account + "/Messages/{sid}.json"
    r.add_get(one, messages.fetch, name="messages.fetch", allow_head=False)
    r.add_post(one, messages.update, name="messages.update")
    r.add_delete(one, messages.delete, name="messages.delete")
    r.add_post(service + "/Verifications", verify.create_verification,
               name="verify.verification.create")  # fmt: skip
    r.add_get(service + "/Verifications/{sid}", verify.fetch_verification,
              name="verify.verification.fetch", allow_head=False)  # fmt: skip
    r.add_post(service + "/Verifications/{sid}", verify.update_verification,
               name="verify.verification.update")  # fmt: skip
    r.add_post(service + "/VerificationCheck", verify.check, name="verify.check")
    r.add_get("/", _root)
    r.add_get("/_sandbox", _root)
    r.add_get("/_sandbox/", inbox.page)
    r.add_get("/_sandbox/messages.json", inbox.messages_json)
    r.add_get("/_sandbox/messages/{sid}.json", control.message_detail)
    r.add_post("/_sandbox/inbound", inbound.receive)
    r.add_get("/_sandbox/faults", control.get_faults)
    r.add_post("/_sandbox/faults", control.set_faults)
    r.add_delete("/_sandbox/faults", control.clear_faults)
    r.add_get("/_sandbox/config", control.get_config)
    r.add_post("/_sandbox/config", control.set_config)
    r.add_post("/_sandbox/reset", control.reset)
    r.add_get("/_sandbox/stats", control.stats)
    r.add_get("/_sandbox/health", control.health)
    r.add_get("/_sandbox/clock", control.clock)
    r.add_post("/_sandbox/clock", control.clock)
    r.add_get("/_sandbox/verifications.json", control.verifications)
    r.add_post("/_sandbox/verifications/expire", control.expire_verifications)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    return app


async def _startup(app: web.Application) -> None:
    state = app[STATE]
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=100)
    state.http = aiohttp.ClientSession(connector=connector, trust_env=False)


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    state.reset()
    if state.tasks:
        await asyncio.gather(*state.tasks, return_exceptions=True)
    if state.http is not None:
        await state.http.close()
