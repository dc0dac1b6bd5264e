"""The API's error envelope where DRF does not reach: Django's own answers on API paths."""

import json

from django.conf import settings

from config.exceptions import is_api_path, status_envelope, status_error_response


class ApiErrorMiddleware:
    """On /api/ and /webhooks/: the envelope for every error, in every mode.

    Listed first, so that it sees what Django builds from exceptions everywhere below it:
    handler pages, DEBUG's technical 404 and 500 pages, a 400 for a bad Host header. A body
    whose Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before anything reads
    it, with one log line (Django's) and no traceback.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_path(request):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return status_error_response(413)
        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response):
            response = _as_envelope(response)
        return response


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads such a body as empty


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _as_envelope(response):
    """The same response (status, Allow, Retry-After, Django's "already logged" mark) with the
    envelope as its body: a debug page's traceback never reaches the client."""
    if response.streaming:
        return status_error_response(response.status_code)
    response.content = json.dumps(status_envelope(response.status_code)).encode()
    response["Content-Type"] = "application/json"
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response
