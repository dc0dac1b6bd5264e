"""Read-only admin for the audit trail: SMS logs, webhook events, opt-outs, verifications.

Numbers are always shown masked; a search term that is a phone number (in any format) finds
that number exactly, anything else searches the listed fields.
"""

from django.contrib import admin

from notifications.exceptions import InvalidPhoneNumber
from notifications.models import SMSLog, Suppression, VerificationAttempt, WebhookEvent
from notifications.phone import mask_phone_number, normalize_phone_number


class AuditAdmin(admin.ModelAdmin):
    """Rows are written by the app only; `phone_field`, when set, is hidden and masked."""

    phone_field: str | None = None
    deletable = False  # audit rows go by retention purges, not by hand

    def get_exclude(self, request, obj=None):
        return (self.phone_field,) if self.phone_field else ()

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields if f.name != self.phone_field]
        return fields + (["masked_number"] if self.phone_field else [])

    @admin.display(description="phone number")
    def masked_number(self, obj) -> str:
        return mask_phone_number(getattr(obj, self.phone_field))

    def get_search_results(self, request, queryset, search_term):
        if self.phone_field and search_term:
            try:
                number = normalize_phone_number(search_term)
            except InvalidPhoneNumber:
                pass
            else:
                return queryset.filter(**{self.phone_field: number}), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


@admin.register(SMSLog)
class SMSLogAdmin(AuditAdmin):
    phone_field = "to"
    list_display = (
        "id",
        "masked_number",
        "status",
        "error_code",
        "attempts",
        "segments",
        "created_at",
    )
    list_filter = ("status", "created_at", "error_code")
    date_hierarchy = "created_at"
    search_fields = ("provider_sid", "idempotency_key")
    ordering = ("-created_at",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(AuditAdmin):
    list_display = ("received_at", "kind", "provider_sid", "provider_status", "outcome", "message")
    list_filter = ("kind", "outcome", "provider_status", "received_at")
    search_fields = ("provider_sid", "idempotency_token")
    date_hierarchy = "received_at"


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
    list_display = (
        "created_at", "kind", "masked_number", "outcome", "throttle", "error_code",
        "client_ip", "verification_sid",
    )  # fmt: skip
    list_filter = ("kind", "outcome", "throttle", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("verification_sid", "client_ip")
    ordering = ("-created_at",)
