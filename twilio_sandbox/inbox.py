"""The inbox: an auto-refreshing HTML page and its JSON twin, newest message first."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .common import STATE, json_response
from .records import Message, iso8601
from .state import State

PAGE_LIMIT = 500

# A fixed table layout: the narrow columns keep their width and the body takes the rest, so
# that a long body, a long word (a URL) or a SID wraps inside its cell instead of widening the
# page; a very long body scrolls inside its cell.
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.3rem;margin:0 0 .8rem}
form{margin-bottom:1rem}
input{padding:.2rem .4rem;margin-right:.5rem}
table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top;
  overflow-wrap:anywhere}
th{background:#f4f4f4}
col.time{width:6.5rem}col.number{width:9.5rem}col.status{width:8.5rem}col.sid{width:9.5rem}
.text{white-space:pre-wrap;max-height:12em;overflow-y:auto}
.inbound{background:#eef6ff}
.err{color:#b00020;font-weight:600}
.sid{font-family:monospace;font-size:.8rem;color:#555;word-break:break-all}
small{color:#666}
"""
COLUMNS = (
    '<colgroup><col class="time"><col class="number"><col class="number"><col>'
    '<col class="status"><col class="sid"></colgroup>'
)


def select(state: State, query: Any) -> list[Message]:
    """Messages newest first, filtered by `to`, `from` (matching either party with `number`)."""
    to, sender, number = query.get("to"), query.get("from"), query.get("number")
    direction = query.get("direction")
    try:
        limit = int(query.get("limit", PAGE_LIMIT))
    except ValueError:
        limit = PAGE_LIMIT
    found = []
    for message in reversed(state.messages.values()):
        if to and message.to != to:
            continue
        if sender and message.from_ != sender:
            continue
        if number and number not in (message.to, message.from_):
            continue
        if direction and message.direction != direction:
            continue
        found.append(message)
        if len(found) >= limit:
            break
    return found


async def messages_json(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response([m.to_inbox() for m in select(state, request.query)])


def _row(message: Message) -> str:
    reply = ""
    if message.webhook and message.webhook.get("twiml"):
        reply = f"<small>TwiML reply: {escape(message.webhook['twiml'])}</small>"
    elif message.webhook and message.webhook.get("error"):
        reply = f"<small class=err>webhook: {escape(message.webhook['error'])}</small>"
    error = f' <span class="err">{message.error_code}</span>' if message.error_code else ""
    date, _, clock = (iso8601(message.date_created) or "").partition("T")
    klass = ' class="inbound"' if message.direction == "inbound" else ""
    cells = (
        f"{escape(date)}<br>{escape(clock.rstrip('Z'))}",
        escape(message.from_ or ""),
        escape(message.to),
        f'<div class="text">{escape(message.body)}</div>{reply}',
        f"{escape(message.status)}{error}<br><small>{escape(message.direction)}</small>",
        f'<span class="sid">{escape(message.sid)}</span>',
    )
    return f"<tr{klass}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


async def page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query
    messages = select(state, query)
    refresh = query.get("refresh", "3")
    meta = (
        f'<meta http-equiv="refresh" content="{escape(refresh)}">'
        if refresh not in ("", "0")
        else ""
    )
    to, sender = escape(query.get("to", "")), escape(query.get("from", ""))
    json_link = "messages.json" + ("?" + urlencode(dict(query)) if query else "")
    rows = "".join(_row(m) for m in messages) or '<tr><td colspan="6">No messages yet.</td></tr>'
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Twilio sandbox inbox</title>{meta}
<style>{STYLE}</style></head><body>
<h1>Twilio sandbox inbox <small>({len(messages)} shown, {len(state.messages)} stored)</small></h1>
<form method="get">
<label>To <input name="to" value="{to}" placeholder="+15551234567"></label>
<label>From <input name="from" value="{sender}"></label>
<button type="submit">Filter</button> <a href="./">clear</a> ·
<a href="{escape(json_link)}">JSON</a> · <a href="stats">stats</a> · <a href="faults">faults</a>
</form>
<table>{COLUMNS}<thead><tr><th>Time (UTC)</th><th>From</th><th>To</th><th>Body</th>
<th>Status</th><th>SID</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>"""
    return web.Response(text=html, content_type="text/html")
