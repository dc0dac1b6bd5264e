"""SMS API: validate, call one service, serialize. Nothing here talks to the provider."""

import logging
import unicodedata

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.permissions import CanSendSMS
from notifications.api.schema import AUTH_ERRORS, JSON_BODY_ERRORS, error_responses, retry_after
from notifications.models import SMSLog

logger = logging.getLogger(__name__)


class SendThrottle(UserRateThrottle):
    """The per-user send rate, on the cache.

    With the cache's Redis down the request goes on unthrottled: the message is recorded (the
    row is the outbox) and published once the broker answers, where refusing it would lose it.
    """

    scope = "sms_send"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.warning("Send throttle skipped: the cache's Redis failed (%s)", exc)
            return True


@extend_schema_serializer(component_name="SMSMessage")
class SMSOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SMSLog
        fields = (
            "id",
            "to",
            "status",
            "provider_sid",
            "error_code",
            "error_message",
            "attempts",
            "segments",
            "reference",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


def no_control_characters(value: str) -> None:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise serializers.ValidationError("Control characters are not allowed.")


IDEMPOTENCY_KEY_LENGTH = SMSLog._meta.get_field("idempotency_key").max_length


def idempotency_key_field(**kwargs) -> serializers.CharField:
    """The body field and the Idempotency-Key header are checked alike, against the column."""
    return serializers.CharField(
        max_length=IDEMPOTENCY_KEY_LENGTH,
        validators=[no_control_characters],
        **kwargs,
    )


def reference_field(help_text: str) -> serializers.CharField:
    """The caller's own reference (the same column length on messages and bulks)."""
    return serializers.CharField(
        max_length=SMSLog._meta.get_field("reference").max_length,
        required=False,
        allow_blank=True,
        validators=[no_control_characters],
        help_text=help_text,
    )


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": IDEMPOTENCY_KEY_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description="Checked like the body's idempotency_key, which wins when both are given; an "
    "invalid header is a `validation_error` naming `Idempotency-Key`.",
)


def idempotency_key_header(request) -> str | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    try:
        return idempotency_key_field().run_validation(value)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"Idempotency-Key": exc.detail}) from exc


MESSAGE_EXAMPLE = {
    "id": "5b0c6f0e-4a51-4a36-9d2b-0e6c1f6f3b2a",
    "to": "+919812345610",
    "status": "pending",
    "provider_sid": None,
    "error_code": "",
    "error_message": "",
    "attempts": 0,
    "segments": 1,
    "created_at": "2025-01-06T09:30:00.000000Z",
    "updated_at": "2025-01-06T09:30:00.000000Z",
}
DELIVERED_EXAMPLE = {
    **MESSAGE_EXAMPLE,
    "status": "delivered",
    "provider_sid": "SM0f6d2c9a8b7e4d3c2b1a0f9e8d7c6b5a",
    "attempts": 1,
    "updated_at": "2025-01-06T09:30:04.000000Z",
}


class SMSSendApi(APIView):
    permission_classes = [CanSendSMS]
    throttle_classes = [SendThrottle]

    @extend_schema_serializer(
        component_name="SMSSendRequest",
        examples=[
            OpenApiExample(
                "A message",
                value={
                    "to": "+91 98123 45610",
                    "body": "Your interview is at 10:00",
                    "idempotency_key": "interview-42",
                },
                request_only=True,
            )
        ],
    )
    class InputSerializer(serializers.Serializer):
        to = serializers.CharField(
            max_length=32, help_text="E.164, or national format in SMS_DEFAULT_REGION."
        )
        # Empty and too long bodies are the service's to refuse (invalid_body, one limit).
        body = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text="1 to SMS_MAX_BODY_LENGTH (1600) characters once trimmed.",
        )
        idempotency_key = idempotency_key_field(
            required=False, help_text="The same key returns the first message, never a second."
        )
        reference = reference_field(
            "Your own reference (e.g. the event it tells of), kept on the message."
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OpenApiResponse(
                SMSOutputSerializer,
                description="Recorded; a worker delivers it.",
                examples=[OpenApiExample("Queued", value=MESSAGE_EXAMPLE)],
            ),
            **error_responses(
                "validation_error",
                "invalid_phone_number",
                "invalid_body",
                "idempotency_conflict",
                "throttled",
                *AUTH_ERRORS,
                *JSON_BODY_ERRORS,
            ),
        },
        parameters=[IDEMPOTENCY_KEY_HEADER, retry_after(429)],
        summary="Queue one SMS; answered at once, delivered by a worker.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        header_key = idempotency_key_header(request)
        data = serializer.validated_data
        message = services.send_sms(
            to=data["to"],
            body=data["body"],
            idempotency_key=data.get("idempotency_key") or header_key,
            reference=data.get("reference", ""),
        )
        return Response(SMSOutputSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class SMSStatusApi(APIView):
    permission_classes = [CanSendSMS]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                SMSOutputSerializer, examples=[OpenApiExample("Delivered", value=DELIVERED_EXAMPLE)]
            ),
            **error_responses(*AUTH_ERRORS, "not_found", "not_acceptable"),
        },
        summary="A message's delivery status.",
    )
    def get(self, request, message_id):
        message = selectors.sms_get(message_id=message_id)
        return Response(SMSOutputSerializer(message).data)
