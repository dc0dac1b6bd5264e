"""The admin's common ground: read-only audit pages with every phone number masked.

No full phone number is ever shown: the number field is masked, and so is every number inside
a stored text or payload (a provider's response, a webhook's parameters, an error message, a
body). A search term that is a phone number (in any format) finds that number exactly, anything
else searches the listed fields. The lists keep to short columns, so that they fit a 1280 px
window beside the navigation and filter sidebars.
"""

import json

from django.contrib import admin
from django.db import models
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from notifications.exceptions import InvalidPhoneNumber
from notifications.phone import mask_phone_number, mask_phone_numbers_in, normalize_phone_number


def holds_free_text(field: models.Field) -> bool:
    return isinstance(field, (models.CharField, models.TextField, models.JSONField)) and (
        not field.choices
    )


def short_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def short_sid(sid: str) -> str:
    """`SM1234…cdef`, the whole SID in the tooltip (and on the detail page, and in search)."""
    if len(sid) <= 12:
        return sid
    return format_html('<span title="{}">{}…{}</span>', sid, sid[:6], sid[-4:])


def breakable(text: str, separator: str) -> str:
    """`text` that may wrap after each `separator` (an IPv6 address, a throttle's name)."""
    wrap = mark_safe(f"{escape(separator)}<wbr>")  # noqa: S308 (the separator is escaped)
    return format_html_join(wrap, "{}", ((part,) for part in text.split(separator)))


class AuditAdmin(admin.ModelAdmin):
    """Rows are written by the app only; `phone_field`, when set, is hidden and masked."""

    phone_field: str | None = None
    deletable = False  # audit rows go by retention purges, not by hand

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        # One display per free-text field, built once: the form and its field list must see
        # the very same callables.
        self.masked_fields = {
            field.name: self._masked_display(field)
            for field in model._meta.fields
            if holds_free_text(field) and field.name != self.phone_field
        }

    def _masked_display(self, field: models.Field):
        @admin.display(description=field.verbose_name)
        def show(obj):
            value = field.value_from_object(obj)
            if isinstance(field, models.JSONField):
                text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
                return format_html('<pre class="payload">{}</pre>', mask_phone_numbers_in(text))
            return (
                mask_phone_numbers_in(value)
                if value is not None
                else self.get_empty_value_display()
            )

        show.__name__ = field.name  # keeps the row's CSS class and the field's help text
        return show

    def get_exclude(self, request, obj=None):
        # Shown through their masked displays only, never as the form's own fields.
        return ((self.phone_field,) if self.phone_field else ()) + tuple(self.masked_fields)

    def get_readonly_fields(self, request, obj=None):
        fields = [
            self.masked_fields.get(field.name, field.name)
            for field in self.model._meta.fields
            if field.name != self.phone_field
        ]
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
