"""Bulk sends: each with its progress, counted live, its rate and ETA; the selected canceled."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from notifications import selectors, services
from notifications.admin.base import AuditAdmin, short_time
from notifications.api.permissions import CanSendSMS
from notifications.exceptions import BulkFinished
from notifications.models import BulkSend
from notifications.phone import mask_phone_numbers_in


def mask_digits(text: str) -> str:
    """Every digit but the last two hidden: a refused recipient may be almost a number."""
    hidden = set([i for i, char in enumerate(text) if char.isdigit()][:-2])
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def short_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


class BulkChangeList(ChangeList):
    """Counts the page's bulks in two queries, not two per row."""

    def get_results(self, request):
        super().get_results(request)
        bulks = list(self.result_list)
        progress = selectors.bulks_progress(bulks)
        for bulk in bulks:
            bulk.admin_progress = progress[bulk.id]


@admin.register(BulkSend)
class BulkSendAdmin(AuditAdmin):
    """Bulks and their progress, counted when the page is shown; the page of a bulk that is
    sending reloads itself (its template). "Cancel" stops the selected bulks at once."""

    list_display = ("bulk", "state_code", "progress", "rate", "eta", "created")
    list_filter = ("state", "created_at")
    search_fields = ("reference", "idempotency_key")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ["cancel_bulks"]
    rejected_shown = 50  # the detail page lists the first refused recipients, not 10,000

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self.masked_fields["rejected"] = self.rejected_recipients

    def get_changelist(self, request, **kwargs):
        return BulkChangeList

    def get_readonly_fields(self, request, obj=None):
        return [
            "progress",
            "rate",
            "eta",
            "messages_link",
            *super().get_readonly_fields(request, obj),
        ]

    def progress_of(self, bulk: BulkSend) -> selectors.BulkProgress:
        if not hasattr(bulk, "admin_progress"):
            bulk.admin_progress = selectors.bulk_progress(bulk)
        return bulk.admin_progress

    @admin.display(description="bulk", ordering="reference")
    def bulk(self, obj) -> str:
        """Its short id and, below, its reference (shortened; whole in the tooltip)."""
        short_id = format_html('<span title="{}">{}</span>', obj.id, str(obj.id)[:8])
        if not obj.reference:
            return short_id
        reference = mask_phone_numbers_in(obj.reference)
        shown = reference if len(reference) <= 24 else reference[:23] + "…"
        return format_html('{}<br><small title="{}">{}</small>', short_id, reference, shown)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj) -> str:
        return short_time(obj.created_at)

    @admin.display(description="state", ordering="state")
    def state_code(self, obj) -> str:
        return obj.state  # `accepted` / `sending` / ...: the label "Accepted (not started)" is long

    @admin.display(description="progress")
    def progress(self, obj) -> str:
        counts = self.progress_of(obj).counts
        parts = [
            ("delivered", "delivered", counts["delivered"]),
            ("sent", "sent", counts["queued"] + counts["sending"] + counts["sent"]),
            ("failed", "failed", counts["failed"] + counts["undelivered"]),
            ("stopped", "canceled", counts["canceled"]),
            ("stopped", "skipped", counts["skipped"]),
            ("remaining", "remaining", counts["pending"]),
        ]
        total = sum(counts.values())
        remaining = counts["pending"]
        percent = 100 * (total - remaining) // total if total else 100
        shown = [
            {
                "key": key,
                "label": label,
                "count": f"{count:,}",
                "width": f"{100 * count / total:.2f}",
            }
            for key, label, count in parts
            if count or key == "remaining"
        ]
        summary = f"{percent}% done: " + ", ".join(
            f"{part['count']} {part['label']}" for part in shown
        )
        return render_to_string(
            "admin/notifications/bulksend/progress.html",
            {
                "parts": shown,
                "total": total,
                "done": total - remaining,
                "percent": percent,
                "summary": summary,
            },
        )

    @admin.display(description="rate")
    def rate(self, obj) -> str:
        if obj.state not in (BulkSend.State.ACCEPTED, BulkSend.State.SENDING):
            return ""
        per_second = self.progress_of(obj).rate
        return f"{per_second:.1f}/s" if per_second >= 1 else f"{per_second * 60:.0f}/min"

    @admin.display(description="ETA")
    def eta(self, obj) -> str:
        if obj.state not in (BulkSend.State.ACCEPTED, BulkSend.State.SENDING):
            return ""
        seconds = self.progress_of(obj).eta_seconds
        if seconds is None:
            return format_html('<span title="{}">–</span>', "Nothing went out in the last minute.")
        return short_duration(seconds)

    @admin.display(description="messages")
    def messages_link(self, obj) -> str:
        url = reverse("admin:notifications_smslog_changelist")
        return format_html(
            '<a href="{}?bulk={}">The {} messages of this bulk</a>', url, obj.id, f"{obj.total:,}"
        )

    @admin.display(description="rejected")
    def rejected_recipients(self, obj) -> str:
        """Each refused entry as sent, digits hidden: it may be a number with a typo."""
        rows = obj.rejected[: self.rejected_shown]
        if not rows:
            return self.get_empty_value_display()
        return render_to_string(
            "admin/notifications/bulksend/rejected.html",
            {
                "rows": [
                    {
                        "index": row["index"],
                        "value": mask_digits(str(row["value"])),
                        "message": mask_phone_numbers_in(row["message"]),
                    }
                    for row in rows
                ],
                "more": len(obj.rejected) - len(rows),
            },
        )

    @admin.action(description="Cancel the selected bulks", permissions=["send"])
    def cancel_bulks(self, request, queryset):
        canceled, finished = 0, 0
        for bulk_id in queryset.values_list("id", flat=True):
            try:
                services.cancel_bulk(bulk_id=bulk_id)
            except BulkFinished:
                finished += 1
            else:
                canceled += 1
        if canceled:
            self.message_user(
                request, f"{canceled} bulk(s) canceled: nothing more of them is sent."
            )
        if finished:
            self.message_user(
                request, f"{finished} bulk(s) had already completed.", messages.WARNING
            )

    def has_send_permission(self, request) -> bool:
        """Who may cancel: whoever may send, the API's rule."""
        return CanSendSMS().has_permission(request, self)
