"""Phone verification API: public, throttled in the service; validate, call one service, answer."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import conf, verification
from notifications.api.schema import JSON_BODY_ERRORS, error_responses, retry_after
from notifications.http import client_ip

PHONE = "+91 98123 45610"
# The verification endpoints name the number `phone_number`, the send endpoint `to`.
VERIFY_SPECIFICS = {
    "validation_error": {"details": {"phone_number": ["This field is required."]}},
    "invalid_phone_number": {"details": {"phone_number": ["This phone number is not valid."]}},
    "throttled": {
        "message": "Too many verification requests; try again later.",
        "details": {"limit": "resend_cooldown", "retry_after": 30},
    },
}
# service_unavailable: the throttles live in Redis; no verification goes out unthrottled.
VERIFY_ERRORS = (
    "validation_error",
    "invalid_phone_number",
    "country_not_allowed",
    "throttled",
    "service_unavailable",
)


# Any string passes the serializer, so that the service refuses a wrong one with its own code;
# the schema says which values are right.
@extend_schema_field({"type": "string", "enum": list(verification.CHANNELS)})
class ChannelField(serializers.CharField):
    """The channel: `invalid_channel` unless `sms`."""


@extend_schema_field({"type": "string", "pattern": f"^{verification.CODE_FORMAT.pattern}$"})
class CodeField(serializers.CharField):
    """The code: `invalid_code` unless 4 to 10 digits."""


class VerifyStartApi(APIView):
    # Public: a session or token that comes along is ignored rather than checked, so that
    # neither a stale token (401) nor a session without a CSRF token (403) blocks a user.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # the service's atomic Redis throttles apply instead

    @extend_schema_serializer(
        component_name="VerifyStartRequest",
        examples=[
            OpenApiExample(
                "A code by SMS", value={"phone_number": PHONE, "channel": "sms"}, request_only=True
            )
        ],
    )
    class InputSerializer(serializers.Serializer):
        phone_number = serializers.CharField(max_length=32)
        channel = ChannelField(max_length=16, default="sms", help_text="Only `sms`.")

    @extend_schema_serializer(component_name="VerifyStartResponse")
    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        phone_number = serializers.CharField(help_text="The number, normalized to E.164.")
        channel = serializers.CharField()
        expires_in = serializers.IntegerField(help_text="Seconds the code will be valid.")
        resend_after = serializers.IntegerField(help_text="Seconds before a code may be resent.")

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OpenApiResponse(
                OutputSerializer,
                description="Queued; a worker asks the provider to send the code.",
                examples=[
                    OpenApiExample(
                        "Pending",
                        value={
                            "status": "pending",
                            "phone_number": "+919812345610",
                            "channel": "sms",
                            "expires_in": 600,
                            "resend_after": 30,
                        },
                    )
                ],
            ),
            **error_responses(
                *VERIFY_ERRORS, "invalid_channel", *JSON_BODY_ERRORS, specifics=VERIFY_SPECIFICS
            ),
        },
        parameters=[retry_after(429, 503)],
        summary="Send a verification code; answered at once, sent by a worker. Throttled (429).",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attempt = verification.verification_start(
            phone_number=serializer.validated_data["phone_number"],
            channel=serializer.validated_data["channel"],
            client_ip=client_ip(request),
        )
        data = {
            "status": "pending",
            "phone_number": attempt.phone_number,
            "channel": attempt.channel,
            "expires_in": int(conf.get("SMS_VERIFY_CODE_TTL")),
            "resend_after": int(conf.get("SMS_VERIFY_RESEND_COOLDOWN")),
        }
        return Response(self.OutputSerializer(data).data, status=status.HTTP_202_ACCEPTED)


class VerifyCheckApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema_serializer(
        component_name="VerifyCheckRequest",
        examples=[
            OpenApiExample(
                "A code", value={"phone_number": PHONE, "code": "123456"}, request_only=True
            )
        ],
    )
    class InputSerializer(serializers.Serializer):
        phone_number = serializers.CharField(max_length=32)
        code = CodeField(max_length=32, help_text="The 4 to 10 digits the SMS gave.")

    @extend_schema_serializer(component_name="VerifyCheckResponse")
    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=["approved", "pending", "expired", "max_attempts_reached", "canceled"]
        )
        valid = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OpenApiResponse(
                OutputSerializer,
                description="The code's fate: only `approved` is `valid`.",
                examples=[
                    OpenApiExample("Approved", value={"status": "approved", "valid": True}),
                    OpenApiExample("Wrong code", value={"status": "pending", "valid": False}),
                    OpenApiExample("Expired or used", value={"status": "expired", "valid": False}),
                ],
            ),
            **error_responses(
                *VERIFY_ERRORS,
                "invalid_code",
                "provider_error",
                "provider_unavailable",
                *JSON_BODY_ERRORS,
                specifics=VERIFY_SPECIFICS,
            ),
        },
        parameters=[retry_after(429, 503)],
        summary="Check a verification code. Throttled (429); 503 when the provider is down.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = verification.verification_check(
            phone_number=serializer.validated_data["phone_number"],
            code=serializer.validated_data["code"],
            client_ip=client_ip(request),
        )
        return Response(self.OutputSerializer(result).data)
