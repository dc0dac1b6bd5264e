"""Twilio error codes, their HTTP statuses and the JSON error body Twilio answers with."""

from __future__ import annotations

import json

from aiohttp import web

# Every entry is (HTTP status, message template). Codes, statuses and wording follow
# https://www.twilio.com/docs/api/errors/<code> (e.g. .../errors/21211, .../errors/60202).
CATALOGUE: dict[int, tuple[int, str]] = {
    20001: (400, "Invalid parameter"),
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20009: (409, "Cannot delete this resource before it is complete"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number: {to}"),
    21212: (
        400,
        "The 'From' number {from_} is not a valid phone number, shortcode, or "
        "alphanumeric sender ID.",
    ),
    21266: (400, "'To' and 'From' number cannot be the same: {to}"),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by "
        "the 'To' number: {to}.",
    ),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (
        400,
        "The 'From' phone number provided ({from_}) is not a valid message-capable "
        "Twilio phone number for this destination.",
    ),
    21609: (400, "Invalid 'StatusCallback': {url}"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21611: (400, "This 'From' number has exceeded the maximum number of queued messages"),
    21612: (
        400,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' "
        "phone number: {from_} via SMS.",
    ),
    21614: (400, "'To' number {to} is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21701: (400, "The Messaging Service Sid {sid} is invalid."),
    30409: (400, "This message cannot be canceled"),
    35111: (400, "SendAt is not a valid ISO-8601 date-time"),
    60200: (400, "Invalid parameter: {param}"),
    60202: (429, "Max check attempts reached"),
    60203: (429, "Max send attempts reached"),
    60221: (400, "No target verification specified"),
}

# Asynchronous delivery errors (message `error_code`, callback `ErrorCode`); each maps to the
# final status Twilio reports with it. https://www.twilio.com/docs/api/errors/30003 etc.
DELIVERY_ERRORS: dict[int, tuple[str, str]] = {
    30001: ("failed", "Queue overflow"),
    30002: ("failed", "Account suspended"),
    30003: ("undelivered", "Unreachable destination handset"),
    30004: ("undelivered", "Message blocked"),
    30005: ("undelivered", "Unknown destination handset"),
    30006: ("undelivered", "Landline or unreachable carrier"),
    30007: ("undelivered", "Message filtered"),
    30008: ("undelivered", "Unknown error"),
    30034: ("undelivered", "US A2P 10DLC - Message from an Unregistered Number"),
    # A Messaging Service accepts a send that a plain sender would be refused (400) and fails
    # the message record later with the same code: https://help.twilio.com/articles/223181868
    21610: ("failed", "Attempt to send to unsubscribed recipient"),
}


def delivery_error_message(code: int) -> str:
    return DELIVERY_ERRORS.get(code, ("", f"Error {code}"))[1]


class TwilioError(Exception):
    """A Twilio API error, rendered as Twilio's JSON error body."""

    def __init__(self, code: int, status: int | None = None, **fmt: str) -> None:
        default_status, template = CATALOGUE.get(code, (400, "Error {code}"))
        self.code = code
        self.status = status or default_status
        try:
            self.message = template.format(code=code, **fmt)
        except KeyError:
            self.message = template
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        return error_body(self.code, self.status, self.message)

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        return error_response(self.code, self.status, self.message, headers)


def error_body(code: int, status: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def error_response(
    code: int, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(error_body(code, status, message)).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def not_found(path: str) -> TwilioError:
    return TwilioError(20404, path=path)
