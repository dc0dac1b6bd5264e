"""OpenAPI documentation of the API's errors: one envelope component, each code's status and
meaning in one table, and the error responses of an operation built from its list of codes."""

from collections import defaultdict
from dataclasses import dataclass, field, replace

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_serializer,
)
from rest_framework import serializers


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """What went wrong."""

    code = serializers.CharField(help_text="Stable, machine-readable code: branch on this.")
    message = serializers.CharField(help_text="A sentence for people; its wording may change.")
    details = serializers.DictField(
        help_text="Messages per field, or more about the error (`retry_after`, `limit`, ...)."
    )


@extend_schema_serializer(component_name="ErrorEnvelope")
class ErrorEnvelopeSerializer(serializers.Serializer):
    """Every error of the API, whatever its status."""

    error = ErrorSerializer()


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str
    message: str
    details: dict = field(default_factory=dict)


def _table(*errors: ErrorCode) -> dict[str, ErrorCode]:
    return {error.code: error for error in errors}


CODES = _table(
    ErrorCode(
        "validation_error",
        400,
        "a field is missing or malformed; `details` names each field",
        "The request is not valid.",
        {"to": ["This field is required."]},
    ),
    ErrorCode(
        "invalid_phone_number",
        400,
        "the number is not a valid phone number",
        "This phone number is not valid.",
        {"to": ["This phone number is not valid."]},
    ),
    ErrorCode(
        "invalid_body",
        400,
        "the message body is empty or longer than SMS_MAX_BODY_LENGTH (default 1600) characters",
        "The message body is longer than 1600 characters.",
        {"body": ["The message body is longer than 1600 characters."]},
    ),
    ErrorCode(
        "invalid_channel",
        400,
        "codes are sent by SMS only",
        "Codes can only be sent by: sms.",
        {"channel": ["Codes can only be sent by: sms."]},
    ),
    ErrorCode(
        "invalid_code",
        400,
        "the code is not 4 to 10 digits (it is never sent to the provider)",
        "The code must be 4 to 10 digits.",
        {"code": ["The code must be 4 to 10 digits."]},
    ),
    ErrorCode(
        "country_not_allowed",
        400,
        "the number's country is not in SMS_VERIFY_ALLOWED_COUNTRIES",
        "Verification codes are not sent to this country.",
        {"phone_number": ["Verification codes are not sent to this country."]},
    ),
    ErrorCode(
        "invalid_recipients",
        400,
        "`recipients` is not a list, or no entry is a valid phone number (`details.rejected` "
        "gives each entry's index and error)",
        "No recipient is a valid phone number.",
        {
            "recipients": ["This phone number is not valid."],
            "rejected": [
                {
                    "index": 0,
                    "value": "+91 98123 456",
                    "code": "invalid_phone_number",
                    "message": "This phone number is not valid.",
                }
            ],
        },
    ),
    ErrorCode(
        "too_many_recipients",
        400,
        "more recipients than SMS_BULK_MAX_RECIPIENTS (default 10,000) in one request",
        "A bulk may have at most 10000 recipients.",
        {"recipients": ["A bulk may have at most 10000 recipients."], "max_recipients": 10000},
    ),
    ErrorCode(
        "parse_error",
        400,
        "the body is not valid JSON (or nested too deeply)",
        "JSON parse error - Expecting value: line 1 column 1 (char 0)",
    ),
    ErrorCode(
        "bad_request",
        400,
        "the request could not be read: more than 1,000 form fields, a wrong encoding",
        "The request has more than the limit of 1000 fields.",
    ),
    ErrorCode(
        "not_authenticated",
        401,
        "no credentials were sent",
        "Authentication credentials were not provided.",
    ),
    ErrorCode("authentication_failed", 401, "the token or session is not valid", "Invalid token."),
    ErrorCode(
        "permission_denied",
        403,
        "the user may not do this: sending needs a staff account or the send_sms permission",
        "Sending SMS needs a staff account or the notifications.send_sms permission.",
    ),
    ErrorCode("not_found", 404, "there is no such message", "No message with this id."),
    ErrorCode(
        "not_acceptable",
        406,
        "the Accept header allows no format the API answers in (JSON)",
        "Could not satisfy the request Accept header.",
    ),
    ErrorCode(
        "idempotency_conflict",
        409,
        "the idempotency key was used for another recipient or body",
        "This idempotency key was already used for another recipient or body.",
        {
            "idempotency_key": [
                "This idempotency key was already used for another recipient or body."
            ]
        },
    ),
    ErrorCode(
        "bulk_finished",
        409,
        "the bulk has completed: every message was already handed to the provider",
        "This bulk has already completed.",
    ),
    ErrorCode(
        "payload_too_large",
        413,
        "the body is over DATA_UPLOAD_MAX_MEMORY_SIZE (default 2.5 MB); it is not read",
        "The request body is larger than the limit of 2621440 bytes.",
        {"max_bytes": 2621440},
    ),
    ErrorCode(
        "unsupported_media_type",
        415,
        "the Content-Type is not the one the operation reads",
        'Unsupported media type "text/plain" in request.',
    ),
    ErrorCode(
        "throttled",
        429,
        "too many requests; retry after `Retry-After` seconds (also in `details.retry_after`)",
        "Request was throttled. Expected available in 30 seconds.",
        {"retry_after": 30},
    ),
    ErrorCode(
        "provider_error",
        502,
        "the provider refused the request for a reason the user cannot fix",
        "The verification provider refused the check.",
    ),
    ErrorCode(
        "service_unavailable",
        503,
        "a part this request cannot go without is down (Redis, which holds the verification "
        "throttles); try again shortly",
        "The service is unavailable; try again shortly.",
        {"retry_after": 5},
    ),
    ErrorCode(
        "provider_unavailable",
        503,
        "the provider is down or slow; try again shortly",
        "The verification provider is unavailable; try again shortly.",
        {"retry_after": 5},
    ),
)

JSON_BODY_ERRORS = ("parse_error", "payload_too_large", "unsupported_media_type", "not_acceptable")
AUTH_ERRORS = ("not_authenticated", "authentication_failed", "permission_denied")


def error_responses(*codes: str, specifics: dict[str, dict] | None = None) -> dict:
    """The error responses of one operation: per status, the envelope and the codes it can
    carry, listed in the description with one example each. `specifics` gives a code's
    `meaning`, `message` or `details` where this operation differs from the table (e.g. the
    phone number's field is `phone_number`, not `to`)."""
    by_status = defaultdict(list)
    for code in codes:
        error = CODES[code]
        by_status[error.status].append(replace(error, **(specifics or {}).get(code, {})))
    responses = {}
    for status, errors in sorted(by_status.items()):
        listed = "\n".join(f"- `{error.code}`: {error.meaning}" for error in errors)
        examples = [
            OpenApiExample(
                error.code,
                value={
                    "error": {
                        "code": error.code,
                        "message": error.message,
                        "details": error.details,
                    }
                },
            )
            for error in errors
        ]
        responses[status] = OpenApiResponse(
            ErrorEnvelopeSerializer, description=f"Codes:\n{listed}", examples=examples
        )
    return responses


def retry_after(*statuses: int) -> OpenApiParameter:
    """The Retry-After response header of these statuses."""
    return OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=list(statuses),
        description="Seconds to wait before trying again.",
    )
