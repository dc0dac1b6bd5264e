"""One error envelope for the whole API: {"error": {"code", "message", "details"}}."""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from notifications.exceptions import SMSError

logger = logging.getLogger(__name__)

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


def envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: domain errors and DRF errors alike become the envelope."""
    if isinstance(exc, SMSError):
        return _domain_error_response(exc)
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


def json_not_found(request, exception=None):
    """handler404: the envelope for API paths, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(envelope("not_found", "There is nothing at this address."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_server_error(request):
    """handler500: the envelope for API paths (the error is logged by Django)."""
    if _is_api(request):
        return JsonResponse(
            envelope("server_error", "The server failed to handle this request."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error

    return server_error(request)


def _is_api(request) -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))
