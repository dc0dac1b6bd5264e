"""Applications: moved along the allowed order by actions, through the service; their history
shown read-only."""

from django.contrib import admin, messages
from django.utils import timezone

from portal import services
from portal.exceptions import PortalError
from portal.models import Application, ApplicationStatusChange

Status = Application.Status


class StatusChangeInline(admin.TabularInline):
    model = ApplicationStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _move_to(status: str):
    label = Status(status).label

    def move(modeladmin, request, queryset):
        modeladmin.move(request, queryset, status)

    move.__name__ = f"move_to_{status}"
    description = f"Move the selected applications to “{label}” (each student is told by SMS)"
    return admin.action(description=description, permissions=["change"])(move)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Applications move only along the allowed order (applied → shortlisted → interview →
    selected, or rejected at any stage), by the actions, through the service."""

    # Not the foreign keys themselves: the admin keeps those on one line, too wide at 1280 px.
    list_display = ("applicant", "job_posting", "status", "updated")
    list_select_related = ("student", "job")
    list_filter = ("status", "job")
    search_fields = ("student__full_name", "student__roll_number", "job__title", "job__company")
    fields = ("student", "job", "status", "created_at", "updated_at")
    readonly_fields = fields
    inlines = [StatusChangeInline]
    actions = [_move_to(status) for status in Status if status != Status.APPLIED]

    @admin.display(description="student", ordering="student__full_name")
    def applicant(self, obj) -> str:
        return str(obj.student)

    @admin.display(description="job", ordering="job__title")
    def job_posting(self, obj) -> str:
        return str(obj.job)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj) -> str:
        return timezone.localtime(obj.updated_at).strftime("%Y-%m-%d %H:%M")

    def move(self, request, queryset, status: str) -> None:
        moved, refused = 0, []
        for application in queryset.select_related("student", "job"):
            before = application.status
            try:
                services.application_change_status(
                    application=application, to_status=status, by=request.user
                )
            except PortalError as exc:
                refused.append(f"{application.student} for {application.job}: {exc.message}")
            else:
                moved += before != status
        label = Status(status).label
        self.message_user(
            request, f"{moved} application(s) moved to {label}; students told by SMS."
        )
        for message in refused:
            self.message_user(request, f"Not moved: {message}", messages.WARNING)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        read_only = {"show_save": False, "show_save_and_continue": False,
                     "show_save_and_add_another": False, "show_delete": False}  # fmt: skip
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **read_only}
        )

    def has_add_permission(self, request) -> bool:
        return False  # students apply themselves

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its history is the record of what the student was told
