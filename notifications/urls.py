"""URLs of the notifications app (mounted at the project root)."""

from django.urls import path

from notifications import webhooks
from notifications.api import bulk_views, verify_views, views

app_name = "notifications"

urlpatterns = [
    path("api/sms/send/", views.SMSSendApi.as_view(), name="sms-send"),
    path("api/sms/status/<str:message_id>/", views.SMSStatusApi.as_view(), name="sms-status"),
    path("api/sms/bulk/", bulk_views.BulkSendApi.as_view(), name="bulk-send"),
    path("api/sms/bulk/<str:bulk_id>/", bulk_views.BulkApi.as_view(), name="bulk"),
    path(
        "api/sms/bulk/<str:bulk_id>/cancel/", bulk_views.BulkCancelApi.as_view(), name="bulk-cancel"
    ),
    path("api/sms/verify/start/", verify_views.VerifyStartApi.as_view(), name="verify-start"),
    path("api/sms/verify/check/", verify_views.VerifyCheckApi.as_view(), name="verify-check"),
    path("webhooks/sms/status/", webhooks.StatusWebhook.as_view(), name="status-webhook"),
    path("webhooks/sms/inbound/", webhooks.InboundWebhook.as_view(), name="inbound-webhook"),
]
