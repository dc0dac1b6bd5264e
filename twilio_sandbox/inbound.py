"""Simulated inbound SMS: opt-out keywords, the signed incoming-message webhook, TwiML replies."""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET  # noqa: N817
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from . import numbers
from .common import STATE, json_response
from .messages import create_message
from .records import API_VERSION, Message, count_price, new_sid
from .segments import count_segments
from .signing import signature
from .state import State

log = logging.getLogger("twilio_sandbox.inbound")


def webhook_params(message: Message, opt_out_type: str | None) -> dict[str, str]:
    """Twilio's incoming-message webhook parameters:
    https://www.twilio.com/docs/messaging/guides/webhook-request
    """
    params = {
        "ToCountry": "US" if message.to.startswith("+1") else "",
        "SmsMessageSid": message.sid,
        "NumMedia": str(message.num_media),
        "SmsSid": message.sid,
        "SmsStatus": "received",
        "Body": message.body,
        "To": message.to,
        "NumSegments": str(message.num_segments),
        "MessageSid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_ or "",
        "ApiVersion": API_VERSION,
    }
    for index, url in enumerate(message.media_urls):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = "image/jpeg"
    if opt_out_type:
        # Sent with Advanced Opt-Out: https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
        params["OptOutType"] = opt_out_type
    return params


def twiml_replies(twiml: str) -> list[str]:
    """Bodies of the <Message> verbs of a TwiML <Response> (empty if it is not TwiML)."""
    try:
        # The TwiML comes from the developer's own local app, not from the internet.
        root = ET.fromstring(twiml)  # noqa: S314
    except ET.ParseError:
        return []
    if root.tag != "Response":
        return []
    replies = []
    for verb in root.iter("Message"):
        body_el = verb.find("Body")
        text = body_el.text if body_el is not None else verb.text
        replies.append((text or "").strip())
    return replies


async def _post_webhook(state: State, url: str, params: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {"url": url, "status": None, "twiml": None, "error": None}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(state.settings.auth_token, url, params),
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "User-Agent": "TwilioProxy/1.1",
    }
    timeout = aiohttp.ClientTimeout(total=state.settings.callback_timeout)
    try:
        async with state.http.post(
            url, data=urlencode(params), headers=headers, timeout=timeout
        ) as response:
            result["status"] = response.status
            result["twiml"] = await response.text()
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    ok = result["status"] is not None and 200 <= result["status"] < 300
    state.stats.inc("inbound_webhooks_sent" if ok else "inbound_webhooks_failed")
    return result


async def _read_payload(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data
    post = await request.post()
    data: dict[str, Any] = {k: str(v) for k, v in post.items()}
    data["MediaUrl"] = [str(v) for v in post.getall("MediaUrl", [])]
    return data


async def receive(request: web.Request) -> web.Response:
    """POST /_sandbox/inbound: a phone (`From`) texts `Body` to the service number (`To`)."""
    state = request.app[STATE]
    data = await _read_payload(request)
    sender = str(data.get("From") or "").strip()
    body = str(data.get("Body") or "")
    to = str(data.get("To") or state.settings.service_number).strip()
    media = data.get("MediaUrl") or []
    media = [media] if isinstance(media, str) else [str(m) for m in media]
    if not numbers.valid_to(sender):
        return json_response({"error": "From must be an E.164 phone number"}, 400)
    keyword = numbers.keyword_type(body)
    phone = numbers.strip_channel(sender)
    if keyword == "STOP":
        state.opted_out.add(phone)
    elif keyword == "START":
        state.opted_out.discard(phone)
    now = state.now()
    segments = count_segments(body)
    message = Message(
        sid=new_sid("MM" if media else "SM"), account_sid=state.settings.account_sid, to=to,
        from_=sender, body=body, status="received", direction="inbound",
        num_segments=segments, num_media=len(media), media_urls=media, date_created=now,
        date_updated=now, date_sent=now, price=count_price(segments), source="inbound",
        history=[("receiving", now), ("received", now)],
    )  # fmt: skip
    state.messages[message.sid] = message
    state.stats.inc("inbound_received")
    url = state.settings.inbound_url
    webhook: dict[str, Any] = {"url": url, "status": None, "twiml": None, "error": None}
    if url:
        webhook = await _post_webhook(state, url, webhook_params(message, keyword))
    webhook["opt_out_type"] = keyword
    webhook["replies"] = []
    for text in twiml_replies(webhook.get("twiml") or ""):
        if phone in state.opted_out:
            webhook["replies"].append({"body": text, "error_code": 21610})
            continue
        reply = create_message(
            state, to=sender, sender=to, body=text, source="reply", direction="outbound-reply"
        )
        webhook["replies"].append({"body": text, "sid": reply.sid})
    message.webhook = webhook
    return json_response(message.to_inbox())
