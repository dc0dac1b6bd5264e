"""Message texts: one per event, edited without a deploy, checked on save, UCS-2 warned about."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from portal import conf
from portal import messages as texts
from portal.models import MessageTemplate

# Realistic values for the preview (the check itself uses the longest plausible ones).
PREVIEW_VALUES = {
    "name": "Asha Rao",
    "company": "Northwind Systems",
    "title": "Graduate Engineer Trainee",
    "deadline": "31 Dec 2025, 17:00 UTC",
    "status": "Shortlisted",
}


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """One text per event, checked on save (placeholders, length); UCS-2 is allowed, with a
    warning, because it fits 70 characters in a segment instead of 160."""

    list_display = ("event", "encoding", "segments", "updated", "updated_by")
    fields = ("event", "body", "encoding_shown", "segments", "preview", "updated_at", "updated_by")
    readonly_fields = ("event", "encoding_shown", "segments", "preview", "updated_at", "updated_by")
    actions = ["restore_defaults"]

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj) -> str:
        return timezone.localtime(obj.updated_at).strftime("%Y-%m-%d %H:%M")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "body" in form.base_fields:
            required = texts.REQUIRED[obj.event]
            form.base_fields["body"].help_text = (
                f"Placeholders: {texts.braced(texts.PLACEHOLDERS[obj.event])}; required: "
                f"{texts.braced(required)}. At most {conf.get('PORTAL_MAX_TEMPLATE_SEGMENTS')} "
                "segments with the longest names and titles. Write {{ or }} for a brace."
            )
        return form

    @admin.display(description="encoding")
    def encoding_shown(self, obj) -> str:
        if obj.encoding != "UCS-2":
            return "GSM-7 (160 characters in one segment, 153 each when longer)"
        return format_html(
            "UCS-2 (70 characters in one segment, 67 each when longer), because of: {}",
            " ".join(self.ucs2_characters(obj)),
        )

    @admin.display(description="preview")
    def preview(self, obj) -> str:
        values = {name: PREVIEW_VALUES.get(name, "") for name in obj.placeholders}
        try:
            return texts.render(obj.body, {**values, "portal": conf.get("PORTAL_NAME")})
        except (KeyError, ValueError, IndexError, AttributeError):
            return "–"  # a text being corrected: its errors are shown on the body

    def ucs2_characters(self, obj) -> list[str]:
        return texts.non_gsm_characters(obj.body + conf.get("PORTAL_NAME"))

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        if obj.encoding == "UCS-2":
            self.message_user(
                request,
                f"“{obj}” is sent as UCS-2 because of {' '.join(self.ucs2_characters(obj))}: "
                f"70 characters per segment instead of 160, {obj.segments} segment(s) at most. "
                "Replace those characters to send it as GSM-7.",
                messages.WARNING,
            )

    @admin.action(description="Restore the default text of the selected messages")
    def restore_defaults(self, request, queryset):
        for template in queryset:
            template.body, template.updated_by = texts.DEFAULT_BODIES[template.event], request.user
            template.save()
        self.message_user(request, f"{len(queryset)} message(s) restored to their default text.")

    def has_add_permission(self, request) -> bool:
        return False  # one per event, from the migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
