"""The Account resource: fetching one's own account is how clients check their credentials."""

from __future__ import annotations

import time

from aiohttp import web

from .common import STATE, authenticate, json_response
from .records import rfc2822

STARTED = time.time()


async def fetch(request: web.Request) -> web.Response:
    """GET /2010-04-01/Accounts/{AccountSid}.json, shaped like the spec's api.v2010.account."""
    state = request.app[STATE]
    sid = request.match_info["account"]
    authenticate(request, state, sid)
    base = f"/2010-04-01/Accounts/{sid}"
    return json_response(
        {
            "auth_token": state.settings.auth_token,
            "date_created": rfc2822(STARTED),
            "date_updated": rfc2822(STARTED),
            "friendly_name": "Twilio sandbox",
            "owner_account_sid": sid,
            "sid": sid,
            "status": "active",
            "subresource_uris": {"messages": f"{base}/Messages.json"},
            "type": "Full",
            "uri": f"{base}.json",
        }
    )
