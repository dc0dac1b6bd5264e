"""SMS API: validate, call one service, serialize. Nothing here talks to the provider."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.permissions import CanSendSMS
from notifications.models import SMSLog


class SendThrottle(UserRateThrottle):
    scope = "sms_send"


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
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class SMSSendApi(APIView):
    permission_classes = [CanSendSMS]
    throttle_classes = [SendThrottle]

    class InputSerializer(serializers.Serializer):
        to = serializers.CharField(max_length=32)
        body = serializers.CharField(max_length=1600)
        idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=False)

    @extend_schema(
        request=InputSerializer,
        responses={202: SMSOutputSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
        summary="Queue one SMS; answered at once, delivered by a worker.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = services.send_sms(
            to=data["to"],
            body=data["body"],
            idempotency_key=data.get("idempotency_key") or request.headers.get("Idempotency-Key"),
        )
        return Response(SMSOutputSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class SMSStatusApi(APIView):
    permission_classes = [CanSendSMS]

    @extend_schema(responses={200: SMSOutputSerializer}, summary="A message's delivery status.")
    def get(self, request, message_id):
        message = selectors.sms_get(message_id=message_id)
        return Response(SMSOutputSerializer(message).data)
