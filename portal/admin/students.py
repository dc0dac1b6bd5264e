"""Departments, and registrations: approved or rejected through the services, phones masked."""

from django.contrib import admin, messages
from django.utils import timezone

from notifications.exceptions import InvalidPhoneNumber
from notifications.phone import normalize_phone_number
from portal import services
from portal.exceptions import AlreadyApproved, StudentNotFound
from portal.models import Department, StudentProfile


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(StudentProfile)
class StudentProfileAdmin(admin.ModelAdmin):
    """Registrations: approve or reject (the student is told by SMS; rejection removes the
    registration). The phone is verified by the student, so it is shown masked, never edited."""

    # Short columns, so that the list fits 1280 px beside the navigation and the filters.
    list_display = ("full_name", "roll_number", "department_code", "year", "phone_number",
                    "approved", "registered")  # fmt: skip
    list_select_related = ("department",)
    list_filter = ("is_approved", "department", "graduation_year")
    search_fields = ("full_name", "roll_number", "user__username")
    ordering = ("is_approved", "created_at")
    actions = ["approve", "reject"]
    fields = ("user", "full_name", "roll_number", "department", "graduation_year",
              "phone_number", "phone_verified", "is_approved", "approved_at", "approved_by",
              "created_at")  # fmt: skip
    readonly_fields = ("user", "phone_number", "phone_verified", "is_approved", "approved_at",
                       "approved_by", "created_at")  # fmt: skip

    @admin.display(description="dept.", ordering="department__code")
    def department_code(self, obj) -> str:
        return obj.department.code

    @admin.display(description="year", ordering="graduation_year")
    def year(self, obj) -> int:
        return obj.graduation_year

    @admin.display(description="approved", ordering="is_approved", boolean=True)
    def approved(self, obj) -> bool:
        return obj.is_approved

    @admin.display(description="since", ordering="created_at")
    def registered(self, obj) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d")

    @admin.display(description="phone")
    def phone_number(self, obj) -> str:
        return obj.masked_phone

    def get_search_results(self, request, queryset, search_term):
        """A search term that is a phone number finds that number exactly."""
        try:
            number = normalize_phone_number(search_term) if search_term else None
        except InvalidPhoneNumber:
            number = None
        if number:
            return queryset.filter(phone=number), False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Approve the selected students (each is told by SMS)")
    def approve(self, request, queryset):
        approved = 0
        for profile in queryset.filter(is_approved=False):
            try:
                services.student_approve(profile=profile, by=request.user)
            except StudentNotFound:
                continue
            approved += 1
        self.message_user(request, f"{approved} student(s) approved and told by SMS.")

    @admin.action(description="Reject the selected students (told by SMS, then removed)")
    def reject(self, request, queryset):
        rejected, refused = 0, []
        for profile in queryset:
            try:
                services.student_reject(profile=profile, by=request.user)
            except AlreadyApproved as exc:
                refused.append(exc.message)
            else:
                rejected += 1
        self.message_user(request, f"{rejected} registration(s) rejected, told by SMS and removed.")
        for message in refused:
            self.message_user(request, f"Not rejected: {message}", messages.WARNING)

    def has_add_permission(self, request) -> bool:
        return False  # students register themselves, verifying their phone

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # "reject" removes a registration and tells the student
