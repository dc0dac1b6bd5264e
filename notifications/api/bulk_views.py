"""Bulk API: send one body to many recipients, follow its progress, cancel it.

Validate, call one service, serialize: each recipient is read by the service, never by a
per-item serializer field, so that 10,000 of them cost one pass.
"""

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.permissions import CanSendSMS
from notifications.api.schema import AUTH_ERRORS, JSON_BODY_ERRORS, error_responses, retry_after
from notifications.api.views import (
    IDEMPOTENCY_KEY_HEADER,
    SendThrottle,
    idempotency_key_field,
    idempotency_key_header,
    reference_field,
)
from notifications.models import BulkSend
from notifications.status import SMSStatus


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "example": ["+91 98123 45610", "09812345611"],
    }
)
class RecipientsField(serializers.Field):
    """The JSON value as sent: the service checks that it is a list and reads each entry,
    reporting a bad one in `rejected` instead of failing the request."""

    def validate_empty_values(self, data):
        if data is None:
            return False, None  # not a list, like any other: the service's invalid_recipients
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_serializer(component_name="BulkRejection")
class RejectionSerializer(serializers.Serializer):
    """A recipient entry that was refused; the others are sent."""

    index = serializers.IntegerField(help_text="Position of the entry in `recipients`.")
    value = serializers.CharField(
        help_text="The entry as sent (at most 64 characters; JSON text when not a string)."
    )
    code = serializers.CharField(help_text="`invalid_phone_number`.")
    message = serializers.CharField()


@extend_schema_serializer(component_name="BulkCounts")
class CountsSerializer(serializers.Serializer):
    """One count per message status, zeros included."""

    pending = serializers.IntegerField(help_text="Recorded, not yet handed to the provider.")
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    undelivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    canceled = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Opted out, or SMS_ENABLED was false.")


@extend_schema_serializer(component_name="BulkSend")
class BulkOutputSerializer(serializers.ModelSerializer):
    """A bulk send and its live progress."""

    # The progress comes as context["progress"] (selectors.bulk_progress): counted now.
    rejected = RejectionSerializer(
        many=True, read_only=True, help_text="Entries refused, each with its index."
    )
    counts = serializers.SerializerMethodField(help_text="Its messages, counted by status.")
    remaining = serializers.SerializerMethodField(help_text="Messages not yet handed over.")
    rate = serializers.SerializerMethodField(
        help_text="Messages handed to the provider per second, over the last minute (or "
        "since it started, when sooner)."
    )
    eta_seconds = serializers.SerializerMethodField(
        help_text="Seconds until nothing remains at that rate; null while nothing moves."
    )

    class Meta:
        model = BulkSend
        fields = (
            "id",
            "state",
            "reference",
            "total",
            "duplicates",
            "rejected",
            "counts",
            "remaining",
            "rate",
            "eta_seconds",
            "segments",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "segments": {"help_text": "Segments each message costs."},
            "started_at": {"help_text": "When its first messages were handed to workers."},
            "finished_at": {"help_text": "When it completed or was canceled."},
        }

    @extend_schema_field(CountsSerializer)
    def get_counts(self, bulk) -> dict:
        return self.context["progress"].counts

    def get_remaining(self, bulk) -> int:
        return self.context["progress"].remaining

    def get_rate(self, bulk) -> float:
        return round(self.context["progress"].rate, 3)

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_eta_seconds(self, bulk):
        eta = self.context["progress"].eta_seconds
        return None if eta is None else math.ceil(eta)


def bulk_response(bulk: BulkSend, *, status_code: int = status.HTTP_200_OK) -> Response:
    progress = selectors.bulk_progress(bulk)
    data = BulkOutputSerializer(bulk, context={"progress": progress}).data
    return Response(data, status=status_code)


BULK_ID = "7d4f3a52-2c1e-4b8a-9f0e-3a6b5c4d2e10"
COUNTS = dict.fromkeys(SMSStatus.values, 0)
ACCEPTED_EXAMPLE = {
    "id": BULK_ID,
    "state": "accepted",
    "reference": "placement-drive-2025",
    "total": 2,
    "duplicates": 1,
    "rejected": [
        {
            "index": 3,
            "value": "+91 98123 456",
            "code": "invalid_phone_number",
            "message": "This phone number is not valid.",
        }
    ],
    "counts": {**COUNTS, "pending": 2},
    "remaining": 2,
    "rate": 0.0,
    "eta_seconds": None,
    "segments": 1,
    "created_at": "2025-01-06T09:30:00.000000Z",
    "started_at": None,
    "finished_at": None,
}
SENDING_EXAMPLE = {
    **ACCEPTED_EXAMPLE,
    "state": "sending",
    "total": 5000,
    "duplicates": 12,
    "counts": {**COUNTS, "pending": 3800, "sent": 640, "delivered": 550, "failed": 10},
    "remaining": 3800,
    "rate": 1.0,
    "eta_seconds": 3800,
    "started_at": "2025-01-06T09:30:01.000000Z",
}
CANCELED_EXAMPLE = {
    **SENDING_EXAMPLE,
    "state": "canceled",
    "counts": {**SENDING_EXAMPLE["counts"], "pending": 0, "canceled": 3800},
    "remaining": 0,
    "eta_seconds": 0,
    "finished_at": "2025-01-06T09:51:00.000000Z",
}
BULK_SPECIFICS = {
    "validation_error": {"details": {"recipients": ["This field is required."]}},
    "idempotency_conflict": {
        "meaning": "the idempotency key was used for another bulk (body or recipients)",
        "message": "This idempotency key was already used for another bulk (body or recipients).",
        "details": {
            "idempotency_key": [
                "This idempotency key was already used for another bulk (body or recipients)."
            ]
        },
    },
    "not_found": {"meaning": "there is no such bulk", "message": "No bulk with this id."},
}


class BulkSendApi(APIView):
    permission_classes = [CanSendSMS]
    throttle_classes = [SendThrottle]  # one bulk is one request against the send rate

    @extend_schema_serializer(
        component_name="BulkSendRequest",
        examples=[
            OpenApiExample(
                "A bulk",
                value={
                    "recipients": ["+91 98123 45610", "09812345611", "+919812345610"],
                    "body": "Placement drive on Friday at 10:00, hall B.",
                    "idempotency_key": "placement-drive-2025",
                    "reference": "placement-drive-2025",
                },
                request_only=True,
            )
        ],
    )
    class InputSerializer(serializers.Serializer):
        recipients = RecipientsField(
            help_text="1 to SMS_BULK_MAX_RECIPIENTS (10,000) phone numbers, E.164 or national "
            "format in SMS_DEFAULT_REGION. Repeats are sent once; an invalid entry is reported "
            "in `rejected` and the others are sent."
        )
        # Empty and too long bodies are the service's to refuse (invalid_body, one limit).
        body = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text="1 to SMS_MAX_BODY_LENGTH (1600) characters once trimmed.",
        )
        idempotency_key = idempotency_key_field(
            required=False, help_text="The same key returns the first bulk, never a second."
        )
        reference = reference_field("Your own reference, kept on the bulk and on its messages.")

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OpenApiResponse(
                BulkOutputSerializer,
                description="Recorded, one message per accepted recipient; workers send them "
                "at the sender's rate.",
                examples=[OpenApiExample("Accepted", value=ACCEPTED_EXAMPLE)],
            ),
            **error_responses(
                "validation_error",
                "invalid_recipients",
                "too_many_recipients",
                "invalid_body",
                "idempotency_conflict",
                "throttled",
                *AUTH_ERRORS,
                *JSON_BODY_ERRORS,
                specifics=BULK_SPECIFICS,
            ),
        },
        parameters=[IDEMPOTENCY_KEY_HEADER, retry_after(429)],
        summary="Send one body to many recipients; answered at once, sent by workers.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        header_key = idempotency_key_header(request)
        data = serializer.validated_data
        bulk = services.send_bulk(
            recipients=data["recipients"],
            body=data["body"],
            idempotency_key=data.get("idempotency_key") or header_key,
            reference=data.get("reference", ""),
            created_by=request.user,
        )
        return bulk_response(bulk, status_code=status.HTTP_202_ACCEPTED)


class BulkApi(APIView):
    permission_classes = [CanSendSMS]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                BulkOutputSerializer,
                description="The bulk with its messages counted now.",
                examples=[OpenApiExample("Sending", value=SENDING_EXAMPLE)],
            ),
            **error_responses(
                *AUTH_ERRORS, "not_found", "not_acceptable", specifics=BULK_SPECIFICS
            ),
        },
        parameters=[OpenApiParameter("bulk_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        summary="A bulk's live progress.",
    )
    def get(self, request, bulk_id):
        return bulk_response(selectors.bulk_get(bulk_id=bulk_id))


class BulkCancelApi(APIView):
    permission_classes = [CanSendSMS]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(
                BulkOutputSerializer,
                description="Canceled: nothing more of it is handed to the provider. Canceling "
                "a canceled bulk answers the same.",
                examples=[OpenApiExample("Canceled", value=CANCELED_EXAMPLE)],
            ),
            **error_responses(
                *AUTH_ERRORS,
                "not_found",
                "bulk_finished",
                "not_acceptable",
                specifics=BULK_SPECIFICS,
            ),
        },
        parameters=[OpenApiParameter("bulk_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        summary="Cancel a bulk: its messages not yet handed to the provider are not sent.",
    )
    def post(self, request, bulk_id):
        return bulk_response(services.cancel_bulk(bulk_id=bulk_id))
