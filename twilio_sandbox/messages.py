"""Messages API: create, list (filters + paging), fetch, cancel/redact, delete."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import lifecycle, numbers
from .common import STATE, authenticate, json_response, read_form
from .errors import TwilioError, delivery_error_message, not_found
from .records import FINAL_STATUSES, Message, new_sid
from .segments import count_segments
from .state import State

MAX_BODY = 1600  # https://www.twilio.com/docs/errors/21617
CANCELABLE = frozenset({"scheduled", "accepted", "queued"})


def validate(state: State, form: dict[str, str], media: list[str]) -> None:
    """Twilio's checks on a create request, in roughly the order Twilio applies them."""
    to = form.get("To", "").strip()
    sender = form.get("From", "").strip()
    service = form.get("MessagingServiceSid", "").strip()
    body = form.get("Body")
    if not to:
        raise TwilioError(21604)
    if not sender and not service:
        raise TwilioError(21603)
    if service and not numbers.MESSAGING_SERVICE_SID.match(service):
        raise TwilioError(21701, sid=service)
    if not body and not media and not form.get("ContentSid"):
        raise TwilioError(21602)
    if body and len(body) > MAX_BODY:
        raise TwilioError(21617)
    if sender:
        if not numbers.valid_from(sender):
            raise TwilioError(21212, from_=sender)
        code = numbers.MAGIC_FROM_ERRORS.get(sender)
        if code:
            raise TwilioError(code, from_=sender, to=to)
    if not numbers.valid_to(to):
        raise TwilioError(21211, to=to)
    code = numbers.MAGIC_TO_ERRORS.get(to)
    if code:
        raise TwilioError(code, to=to, from_=sender or state.settings.service_number)
    if sender and numbers.strip_channel(sender) == numbers.strip_channel(to):
        raise TwilioError(21266, to=to)
    if numbers.strip_channel(to) in state.opted_out:
        raise TwilioError(21610)
    callback = form.get("StatusCallback")
    if callback:
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(callback) > 4000:
            raise TwilioError(21609, url=callback)


def create_message(
    state: State,
    *,
    to: str,
    sender: str | None,
    body: str,
    service_sid: str | None = None,
    media: list[str] | None = None,
    status_callback: str | None = None,
    source: str = "api",
    direction: str = "outbound-api",
    send_at: float | None = None,
) -> Message:
    """Record an accepted outbound message and start its lifecycle."""
    now = state.now()
    media = media or []
    status = "queued"
    if service_sid:
        status = "scheduled" if send_at else "accepted"
    final = state.settings.fail_numbers.get(to)
    if final is not None and final.on_create:
        status = final.status  # the create response is already final: no lifecycle follows
    else:
        final = None
    message = Message(
        sid=new_sid("MM" if media else "SM"),
        account_sid=state.settings.account_sid,
        to=to,
        from_=None if service_sid else sender,
        body=body,
        status=status,
        direction=direction,
        messaging_service_sid=service_sid,
        num_segments=count_segments(body),
        num_media=len(media),
        media_urls=media,
        date_created=now,
        date_updated=now,
        status_callback=status_callback or None,
        source=source,
        history=[(status, now)],
    )
    if final is not None:
        message.error_code = final.code
        message.error_message = delivery_error_message(final.code)
    if status_callback and state.faults.fires("callback_out_of_order", "messages"):
        state.stats.fault("callback_out_of_order")
        message.hold = True
    state.messages[message.sid] = message
    state.stats.inc("messages_created")
    lifecycle.start(state, message, None if send_at is None else send_at - now)
    return message


def _send_at(form: dict[str, str]) -> float | None:
    if form.get("ScheduleType") != "fixed" or not form.get("SendAt"):
        return None
    try:
        return _parse_date(form["SendAt"])[0].timestamp()
    except ValueError as exc:
        raise TwilioError(35111, status=400) from exc


async def create(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authenticate(request, state, request.match_info["account"])
    form, media = await read_form(request)
    validate(state, form, media)
    message = create_message(
        state,
        to=form["To"].strip(),
        sender=form.get("From", "").strip() or None,
        body=form.get("Body", ""),
        service_sid=form.get("MessagingServiceSid", "").strip() or None,
        media=media,
        status_callback=form.get("StatusCallback"),
        send_at=_send_at(form),
    )
    return json_response(message.to_api(), 201)


def _lookup(request: web.Request) -> tuple[State, Message]:
    state = request.app[STATE]
    authenticate(request, state, request.match_info["account"])
    message = state.messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    return state, message


async def fetch(request: web.Request) -> web.Response:
    return json_response(_lookup(request)[1].to_api())


async def update(request: web.Request) -> web.Response:
    state, message = _lookup(request)
    form, _ = await read_form(request)
    status = form.get("Status")
    if status is not None:
        if status != "canceled":
            raise TwilioError(20001, status=400)
        # Only messages not yet handed to a carrier can be canceled:
        # https://www.twilio.com/docs/errors/30409
        if message.status not in CANCELABLE:
            raise TwilioError(30409)
        lifecycle.cancel(state, message)
    if "Body" in form:
        if form["Body"] != "":
            raise TwilioError(20001, status=400)
        message.body = ""  # redaction
        message.date_updated = state.now()
    return json_response(message.to_api())


async def delete(request: web.Request) -> web.Response:
    state, message = _lookup(request)
    if message.status not in FINAL_STATUSES:
        raise TwilioError(20009)  # https://www.twilio.com/docs/api/errors/20009
    del state.messages[message.sid]
    return web.Response(status=204)


def _parse_date(value: str) -> tuple[dt.datetime, bool]:
    """A DateSent filter value: YYYY-MM-DD, ISO 8601 date-time or RFC 2822; (utc, date_only)."""
    value = value.strip()
    if len(value) == 10:
        return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC), True
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(value) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC), False


def _date_filter(query: Any) -> list[tuple[str, dt.datetime, bool]]:
    filters = []
    for key, op in (("DateSent", "="), ("DateSent<", "<"), ("DateSent>", ">")):
        if query.get(key):
            try:
                filters.append((op, *_parse_date(query[key])))
            except ValueError as exc:
                raise TwilioError(20001, status=400) from exc
    return filters


def _matches_date(message: Message, filters: list[tuple[str, dt.datetime, bool]]) -> bool:
    if message.date_sent is None:
        return False
    sent = dt.datetime.fromtimestamp(message.date_sent, dt.UTC)
    for op, when, date_only in filters:
        if op == "=" and sent.date() != when.date():
            return False
        left, right = (sent.date(), when.date()) if date_only else (sent, when)
        if (op == "<" and left > right) or (op == ">" and left < right):
            return False
    return True


async def list_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    account = request.match_info["account"]
    authenticate(request, state, account)
    query = request.query
    to, sender = query.get("To"), query.get("From")
    dates = _date_filter(query)
    try:
        page_size = min(max(int(query.get("PageSize", 50)), 1), 1000)
        page = max(int(query.get("Page", 0)), 0)
    except ValueError as exc:
        raise TwilioError(20001, status=400) from exc
    selected = [
        m
        for m in reversed(state.messages.values())
        if (to is None or m.to == to)
        and (sender is None or m.from_ == sender)
        and (not dates or _matches_date(m, dates))
    ]
    start = page * page_size
    token = query.get("PageToken", "")
    if token.startswith("PA"):
        # Page tokens name the last SID of the previous page, so paging is stable while
        # new messages arrive (they sort first, newest-first).
        index = next((i for i, m in enumerate(selected) if m.sid == token[2:]), None)
        if index is not None:
            start = index + 1
    items = selected[start : start + page_size]
    path = f"/2010-04-01/Accounts/{account}/Messages.json"
    base = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def page_uri(number: int, extra: dict[str, str] | None = None) -> str:
        params = {**base, "PageSize": str(page_size), "Page": str(number), **(extra or {})}
        return path + "?" + urlencode(params)

    has_next = start + page_size < len(selected)
    current_extra = {"PageToken": token} if token else None
    return json_response(
        {
            "messages": [m.to_api() for m in items],
            "end": start + len(items) - 1 if items else start,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, {"PageToken": "PA" + items[-1].sid})
            if has_next and items
            else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, current_extra),
        }
    )
