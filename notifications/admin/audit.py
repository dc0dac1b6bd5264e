"""Audit pages: SMS logs (filterable by bulk), webhook events, opt-outs, verification attempts."""

import uuid

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from notifications.admin.base import AuditAdmin, breakable, short_sid, short_time
from notifications.models import SMSLog, Suppression, VerificationAttempt, WebhookEvent


class BulkFilter(admin.SimpleListFilter):
    """The messages of one bulk (the link on its page); shown only while it filters."""

    title = "bulk"
    parameter_name = "bulk"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value[:8])] if value else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(bulk_id=uuid.UUID(self.value()))
        except ValueError:
            return queryset.none()


@admin.register(SMSLog)
class SMSLogAdmin(AuditAdmin):
    phone_field = "to"
    list_display = ("short_id", "masked_number", "status", "error_code", "attempts", "created")
    list_filter = ("status", "created_at", "error_code", BulkFilter)
    date_hierarchy = "created_at"
    search_fields = ("provider_sid", "idempotency_key")
    ordering = ("-created_at",)

    @admin.display(description="id", ordering="id")
    def short_id(self, obj) -> str:
        return format_html('<span title="{}">{}</span>', obj.id, str(obj.id)[:8])

    @admin.display(description="created", ordering="created_at")
    def created(self, obj) -> str:
        return short_time(obj.created_at)


@admin.register(WebhookEvent)
class WebhookEventAdmin(AuditAdmin):
    list_display = ("received", "kind", "sid", "provider_status", "outcome", "message_link")
    list_filter = ("kind", "outcome", "provider_status", "received_at")
    search_fields = ("provider_sid", "idempotency_token")
    date_hierarchy = "received_at"

    @admin.display(description="received", ordering="received_at")
    def received(self, obj) -> str:
        return short_time(obj.received_at)

    @admin.display(description="sid", ordering="provider_sid")
    def sid(self, obj) -> str:
        return short_sid(obj.provider_sid)

    @admin.display(description="message")
    def message_link(self, obj) -> str:
        if not obj.message_id:
            return ""
        url = reverse("admin:notifications_smslog_change", args=[obj.message_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.message_id)[:8])


@admin.register(Suppression)
class SuppressionAdmin(AuditAdmin):
    """Operators may lift a suppression (delete) after the person asked by other means."""

    phone_field = "phone_number"
    deletable = True
    list_display = ("masked_number", "reason", "created_at")
    list_filter = ("reason",)


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(AuditAdmin):
    """Abuse review of verification requests."""

    phone_field = "phone_number"
    list_display = ("created", "kind_code", "masked_number", "outcome", "refused_by", "ip")
    list_filter = ("kind", "outcome", "throttle", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("verification_sid", "client_ip")
    ordering = ("-created_at",)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj) -> str:
        return short_time(obj.created_at)

    @admin.display(description="kind", ordering="kind")
    def kind_code(self, obj) -> str:
        return obj.kind  # `start` / `check`: the labels would take three lines

    @admin.display(description="limit or error")
    def refused_by(self, obj) -> str:
        return breakable(obj.throttle, "_") if obj.throttle else obj.error_code

    @admin.display(description="client ip", ordering="client_ip")
    def ip(self, obj) -> str:
        return breakable(obj.client_ip, ":") if obj.client_ip else ""
