"""One error envelope for the whole API: {"error": {"code", "message", "details"}}.

DRF's views answer through `api_exception_handler`; what Django answers by itself on an API path
(its handlers, its debug pages) is turned into the same envelope by `config.middleware`.
"""

import logging
import math
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse, UnreadablePostError
from django.views import defaults
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from notifications.exceptions import ServiceUnavailable, SMSError

logger = logging.getLogger(__name__)

API_PATH_PREFIXES = ("/api/", "/webhooks/")

# Codes of field errors that deserve to be the envelope's code rather than "validation_error".
DOMAIN_FIELD_CODES = frozenset({"invalid_phone_number", "invalid_body", "idempotency_conflict"})

DRF_CODES = {
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

# The envelope of an error response that no view chose: Django's own pages on API paths.
STATUS_ERRORS = {
    400: ("bad_request", "The request could not be read."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This method is not allowed at this address."),
    406: ("not_acceptable", "The response cannot be given in a format the client accepts."),
    415: ("unsupported_media_type", "The request body's media type is not supported."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "The server failed to handle this request."),
}


def envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_envelope(status: int) -> dict:
    """The envelope for an error status alone, with nothing more known about the error."""
    if status == 413:
        return payload_too_large_envelope()
    if status in STATUS_ERRORS:
        return envelope(*STATUS_ERRORS[status])
    if status >= 500:
        return envelope(*STATUS_ERRORS[500])
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Bad Request"
    return envelope("_".join(phrase.lower().split()), f"{phrase}.")


def payload_too_large_envelope() -> dict:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return envelope(
        "payload_too_large",
        f"The request body is larger than the limit of {limit} bytes.",
        {"max_bytes": limit},
    )


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: domain errors and DRF errors alike become the envelope."""
    if isinstance(exc, SMSError):
        return _domain_error_response(exc)
    if isinstance(exc, RedisError | KombuOperationalError):
        # The backstop: the services handle Redis and broker failures they can (sends answer
        # 202 and wait for the broker; the verification throttles refuse with a 503 of their
        # own); one they did not foresee is a 503 too, never a 500.
        logger.warning("%s answered 503: %s", context["request"].path, exc)
        return _domain_error_response(ServiceUnavailable())
    if isinstance(exc, RequestDataTooBig):
        return Response(payload_too_large_envelope(), status=413)
    if isinstance(exc, SuspiciousOperation | BadRequest | UnreadablePostError):
        # Django would answer its HTML 400 (a debug page with DEBUG) and log a traceback.
        return Response(envelope("bad_request", _bad_request_message(exc)), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's 500 handling and logging take over
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        codes = set(_flatten(exc.get_codes()))
        domain = sorted(codes & DOMAIN_FIELD_CODES)
        code = domain[0] if domain else "validation_error"
        response.data = envelope(code, "The request is not valid.", details)
    else:
        code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        details = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after": int(exc.wait + 0.999)}
        response.data = envelope(code, str(detail), details)
    return response


def _bad_request_message(exc) -> str:
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return f"The request has more than the limit of {limit} fields."
    if isinstance(exc, TooManyFilesSent):
        return (
            f"The request has more than the limit of {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
        )
    return STATUS_ERRORS[400][1]


def _domain_error_response(exc: SMSError) -> Response:
    """The envelope; a domain error with a `retry_after` also gets the Retry-After header."""
    details = dict(exc.details)
    retry_after = exc.retry_after
    if retry_after is not None:
        details["retry_after"] = max(math.ceil(retry_after), 1)
    response = Response(envelope(exc.code, exc.message, details), status=exc.http_status)
    if retry_after is not None:
        response["Retry-After"] = str(details["retry_after"])
    return response


def _flatten(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            yield from _flatten(value)
    elif isinstance(codes, list | tuple):
        for value in codes:
            yield from _flatten(value)
    else:
        yield codes


def is_api_path(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIXES)


def status_error_response(status: int) -> JsonResponse:
    return JsonResponse(status_envelope(status), status=status)


# handler400/403/404/500: the envelope on API paths, Django's pages elsewhere.


def json_bad_request(request, exception=None):
    if is_api_path(request):
        return status_error_response(400)
    return defaults.bad_request(request, exception)


def json_permission_denied(request, exception=None):
    if is_api_path(request):
        return status_error_response(403)
    return defaults.permission_denied(request, exception)


def json_not_found(request, exception=None):
    if is_api_path(request):
        return status_error_response(404)
    return defaults.page_not_found(request, exception)


def json_server_error(request):
    """The error itself is logged by Django, with its traceback; the client gets the envelope."""
    if is_api_path(request):
        return status_error_response(500)
    return defaults.server_error(request)
