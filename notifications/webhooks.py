"""Twilio webhooks: validate the signature, parse, one service call, answer 200 quickly."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import callbacks, conf, twilio_client
from notifications.api.schema import error_responses
from notifications.models import WebhookEvent

FORM = "application/x-www-form-urlencoded"


class TwilioNegotiation(DefaultContentNegotiation):
    """Twilio reads what a webhook answers (TwiML, or nothing) whatever its Accept header
    says, so the header never refuses a callback: a 406 (`Accept: text/xml` got one, for
    the TwiML the view answers) would lose it, Twilio logging error 11200. Errors stay the
    JSON envelope."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TwilioWebhookView(APIView):
    """Signed, form-encoded POSTs from Twilio; no session or token auth, no CSRF."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [FormParser]
    content_negotiation_class = TwilioNegotiation
    http_method_names = ["post"]
    kind = WebhookEvent.Kind.STATUS

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # DRF picks the handler only after initial(): a wrong method is 405, not a bad signature.
        if request.method.lower() not in self.http_method_names:
            self.http_method_not_allowed(request)
        # The URL Twilio called, rebuilt from PUBLIC_BASE_URL: behind a TLS-terminating proxy or
        # on another host or port, the request's own URL is not the one Twilio signed.
        url = conf.get("PUBLIC_BASE_URL").rstrip("/") + request.get_full_path()
        signature = request.headers.get("X-Twilio-Signature", "")
        token = request.headers.get("I-Twilio-Idempotency-Token", "")
        if not twilio_client.signature_is_valid(url=url, params=request.POST, signature=signature):
            callbacks.record_rejected(kind=self.kind, params=request.POST, idempotency_token=token)
            raise exceptions.PermissionDenied("Missing or invalid X-Twilio-Signature.")
        if callbacks.has_nul(request.POST):
            callbacks.record_rejected(kind=self.kind, params=request.POST, idempotency_token=token)
            raise exceptions.ValidationError(
                {"non_field_errors": ["Null characters are not allowed."]}
            )


@extend_schema_serializer(
    component_name="TwilioStatusCallback",
    examples=[
        OpenApiExample(
            "Delivered",
            value={
                "MessageSid": "SM0f6d2c9a8b7e4d3c2b1a0f9e8d7c6b5a",
                "MessageStatus": "delivered",
                "AccountSid": "AC0123456789abcdef0123456789abcdef",
                "From": "+15005550006",
                "To": "+919812345610",
                "ApiVersion": "2010-04-01",
            },
            request_only=True,
            media_type=FORM,
        )
    ],
)
class StatusCallbackSerializer(serializers.Serializer):
    """Twilio's status callback (form-encoded), for the schema; every posted field is kept."""

    MessageSid = serializers.CharField()
    MessageStatus = serializers.CharField()
    SmsSid = serializers.CharField(required=False)
    SmsStatus = serializers.CharField(required=False)
    AccountSid = serializers.CharField(required=False)
    From = serializers.CharField(required=False)
    To = serializers.CharField(required=False)
    ErrorCode = serializers.CharField(required=False)
    ApiVersion = serializers.CharField(required=False)


@extend_schema_serializer(
    component_name="TwilioInboundMessage",
    examples=[
        OpenApiExample(
            "An opt-out",
            value={
                "MessageSid": "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
                "From": "+919812345610",
                "To": "+15005550006",
                "Body": "STOP",
                "OptOutType": "STOP",
            },
            request_only=True,
            media_type=FORM,
        )
    ],
)
class InboundMessageSerializer(serializers.Serializer):
    """Twilio's incoming-message webhook (form-encoded), for the schema."""

    MessageSid = serializers.CharField()
    From = serializers.CharField()
    To = serializers.CharField()
    Body = serializers.CharField(allow_blank=True)
    OptOutType = serializers.CharField(required=False)


SIGNATURE = OpenApiParameter(
    "X-Twilio-Signature",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Twilio's signature of PUBLIC_BASE_URL + path and every posted field.",
)
WEBHOOK_ERRORS = error_responses(
    "validation_error",
    "bad_request",
    "permission_denied",
    "payload_too_large",
    "unsupported_media_type",
    specifics={
        "validation_error": {
            "meaning": "a field name or value holds a NUL character (the event is recorded)",
            "details": {"non_field_errors": ["Null characters are not allowed."]},
        },
        "permission_denied": {
            "meaning": "the X-Twilio-Signature is missing or wrong (the event is recorded)",
            "message": "Missing or invalid X-Twilio-Signature.",
        },
        "unsupported_media_type": {
            "message": 'Unsupported media type "application/json" in request.'
        },
    },
)


class StatusWebhook(TwilioWebhookView):
    @extend_schema(
        request={FORM: StatusCallbackSerializer},
        responses={
            200: OpenApiResponse(description="Recorded (also a duplicate or an unknown SID)."),
            **WEBHOOK_ERRORS,
        },
        parameters=[SIGNATURE],
        summary="Twilio status callback: applied once, forward only; 200 for duplicates too.",
    )
    def post(self, request):
        callbacks.status_callback_apply(
            params=request.POST,
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
        return Response(status=200)


class InboundWebhook(TwilioWebhookView):
    kind = WebhookEvent.Kind.INBOUND

    @extend_schema(
        request={FORM: InboundMessageSerializer},
        responses={
            (200, "text/xml"): OpenApiResponse(
                OpenApiTypes.STR,
                description="TwiML: the help text for HELP, else an empty response.",
                examples=[
                    OpenApiExample(
                        "Help",
                        value='<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                        "Reply STOP to stop receiving messages.</Message></Response>",
                        media_type="text/xml",
                    )
                ],
            ),
            **WEBHOOK_ERRORS,
        },
        parameters=[SIGNATURE],
        summary="Twilio incoming message: STOP/START/HELP keywords; answers TwiML.",
    )
    def post(self, request):
        reply = callbacks.inbound_message_handle(params=request.POST)
        return HttpResponse(twilio_client.twiml_reply(reply), content_type="text/xml")
