"""Control endpoints under /_sandbox/ (no auth, local use): faults, config, reset, stats, clock."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .common import STATE, json_response


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def _bad(error: Exception) -> web.Response:
    return json_response({"error": str(error)}, 400)


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return json_response({"status": "reset"})


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = state.stats.to_json()
    by_status: dict[str, int] = {}
    for message in state.messages.values():
        by_status[message.status] = by_status.get(message.status, 0) + 1
    data["messages_stored"] = len(state.messages)
    data["messages_by_status"] = by_status
    data["verifications_stored"] = len(state.verifications)
    data["opted_out"] = sorted(state.opted_out)
    data["callbacks_in_flight"] = len(state.tasks)
    return json_response(data)


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].faults.to_json())


async def set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        state.faults.update(await _json_body(request))
    except (ValueError, TypeError) as exc:
        return _bad(exc)
    return json_response(state.faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.faults.update({"clear": True})
    return json_response(state.faults.to_json())


async def get_config(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].settings.to_json())


async def set_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        state.settings.update(await _json_body(request))
    except (ValueError, TypeError) as exc:
        return _bad(exc)
    return json_response(state.settings.to_json())


async def clock(request: web.Request) -> web.Response:
    """GET: the offset; POST {"advance": seconds} or {"offset": seconds}: move the clock."""
    state = request.app[STATE]
    if request.method == "POST":
        data = await _json_body(request)
        try:
            if "offset" in data:
                state.clock_offset = float(data["offset"])
            state.clock_offset += float(data.get("advance", 0))
        except (TypeError, ValueError) as exc:
            return _bad(exc)
    return json_response({"offset": state.clock_offset, "now": state.now()})


async def verifications(request: web.Request) -> web.Response:
    """Verifications newest first, with their codes (filter with ?to= and ?service_sid=)."""
    state = request.app[STATE]
    to, service = request.query.get("to"), request.query.get("service_sid")
    now = state.now()
    found = []
    for verification in reversed(state.verifications.values()):
        if (to and verification.to != to) or (service and verification.service_sid != service):
            continue
        verification.refresh(now)
        found.append(verification.to_inbox())
    return json_response(found)


async def expire_verifications(request: web.Request) -> web.Response:
    """Expire pending verifications now (all, or those matching sid / to / service_sid)."""
    state = request.app[STATE]
    data = await _json_body(request)
    now = state.now()
    expired = []
    for verification in state.verifications.values():
        if any(data.get(k) and data[k] != v for k, v in (
            ("sid", verification.sid), ("to", verification.to),
            ("service_sid", verification.service_sid),
        )):  # fmt: skip
            continue
        if verification.refresh(now) in ("pending", "max_attempts_reached"):
            verification.expires = now
            verification.refresh(now)
            expired.append(verification.sid)
    return json_response({"expired": expired})


async def message_detail(request: web.Request) -> web.Response:
    message = request.app[STATE].messages.get(request.match_info["sid"])
    if message is None:
        return json_response({"error": "no such message"}, 404)
    return json_response(message.to_inbox())
