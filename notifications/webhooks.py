"""Twilio webhooks: validate the signature, parse, one service call, answer 200 quickly."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import callbacks, conf, twilio_client
from notifications.models import WebhookEvent


class TwilioWebhookView(APIView):
    """Signed, form-encoded POSTs from Twilio; no session or token auth, no CSRF."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [FormParser]
    kind = WebhookEvent.Kind.STATUS

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The URL Twilio called, rebuilt from PUBLIC_BASE_URL: behind a TLS-terminating proxy or
        # on another host or port, the request's own URL is not the one Twilio signed.
        url = conf.get("PUBLIC_BASE_URL").rstrip("/") + request.get_full_path()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not twilio_client.signature_is_valid(url=url, params=request.POST, signature=signature):
            callbacks.record_rejected(kind=self.kind, params=request.POST)
            raise exceptions.PermissionDenied("Missing or invalid X-Twilio-Signature.")


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


class InboundMessageSerializer(serializers.Serializer):
    """Twilio's incoming-message webhook (form-encoded), for the schema."""

    MessageSid = serializers.CharField()
    From = serializers.CharField()
    To = serializers.CharField()
    Body = serializers.CharField(allow_blank=True)
    OptOutType = serializers.CharField(required=False)


SIGNATURE = OpenApiParameter("X-Twilio-Signature", str, OpenApiParameter.HEADER, required=True)


class StatusWebhook(TwilioWebhookView):
    @extend_schema(
        request={"application/x-www-form-urlencoded": StatusCallbackSerializer},
        responses={200: None, 403: OpenApiResponse(description="Missing or invalid signature")},
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
        request={"application/x-www-form-urlencoded": InboundMessageSerializer},
        responses={
            (200, "text/xml"): OpenApiResponse(OpenApiTypes.STR, description="TwiML"),
            403: OpenApiResponse(description="Missing or invalid signature"),
        },
        parameters=[SIGNATURE],
        summary="Twilio incoming message: STOP/START/HELP keywords; answers TwiML.",
    )
    def post(self, request):
        reply = callbacks.inbound_message_handle(params=request.POST)
        return HttpResponse(twilio_client.twiml_reply(reply), content_type="text/xml")
