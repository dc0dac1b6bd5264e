"""Jobs: adding one posts it through the service (its eligible students are told by one bulk
SMS, whose progress its page follows); what the students were told stays as told."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal import selectors, services
from portal.exceptions import JobAlreadyPosted, PortalError
from portal.models import JobPosting


class JobPostingForm(forms.ModelForm):
    class Meta:
        model = JobPosting
        fields = ("company", "title", "description", "departments", "min_graduation_year",
                  "deadline")  # fmt: skip

    def clean(self):
        data = super().clean()
        if self.instance.pk is not None:
            return data
        deadline = data.get("deadline")
        if deadline and deadline <= timezone.now():
            self.add_error("deadline", "The deadline must be in the future.")
        departments, year = data.get("departments"), data.get("min_graduation_year")
        if departments and year is not None:
            eligible = selectors.eligible_students(
                departments=departments, min_graduation_year=year
            )
            if not eligible.exists():
                raise ValidationError(
                    "No approved student of these departments graduates in %(year)s or later: "
                    "nobody would be told of this job.",
                    params={"year": year},
                )
        return data


@admin.register(JobPosting)
class JobPostingAdmin(admin.ModelAdmin):
    """Adding a job posts it through the portal's service: every eligible student is told by
    one bulk SMS, whose progress its page shows (and follows, reloading itself)."""

    form = JobPostingForm
    # Short columns, so that the list fits 1280 px beside the navigation and the filters.
    list_display = (
        "title",
        "company",
        "closes",
        "taking_applications",
        "applications",
        "announced",
    )
    list_filter = ("is_open", "departments")
    search_fields = ("title", "company")
    actions = ["close"]

    def get_queryset(self, request):
        return selectors.jobs_for_office()

    def get_fields(self, request, obj=None):
        if obj is None:
            return JobPostingForm.Meta.fields
        return ("company", "title", "description", "departments", "min_graduation_year",
                "deadline", "is_open", "posted_by", "created_at", "announcement")  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # What the students were told stays as it was told; the description and the deadline
        # may still change, and "close" stops applications.
        return ("company", "title", "departments", "min_graduation_year", "is_open",
                "posted_by", "created_at", "announcement")  # fmt: skip

    @admin.display(description="deadline", ordering="deadline")
    def closes(self, obj) -> str:
        return timezone.localtime(obj.deadline).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="applications", ordering="application_count")
    def applications(self, obj) -> int:
        return obj.application_count

    @admin.display(description="open", ordering="is_open", boolean=True)
    def taking_applications(self, obj) -> bool:
        return obj.is_open

    @admin.display(description="delivered")
    def announced(self, obj) -> str:
        """Announcement SMS delivered, of all sent (– when the job was not announced)."""
        progress = selectors.job_progress(obj)
        if progress is None:
            return "–"
        return f"{progress['delivered']}/{progress['total']}"

    @admin.display(description="announcement")
    def announcement(self, obj) -> str:
        progress = selectors.job_progress(obj)
        if progress is None:
            return "Not announced by SMS (demo data)."
        parts = [
            f"{progress[key]} {key}"
            for key in ("delivered", "sent", "failed", "stopped")
            if progress[key]
        ]
        summary = f"{progress['percent']}% handed over, to {progress['total']} student(s): " + (
            ", ".join([*parts, f"{progress['remaining']} remaining"])
        )
        return render_to_string(
            "admin/portal/jobposting/progress.html",
            {
                "progress": progress,
                "summary": summary,
                "bulk_url": reverse(
                    "admin:notifications_bulksend_change", args=[progress["bulk_id"]]
                ),
            },
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        progress = selectors.job_progress(job) if job else None
        extra_context = {
            **(extra_context or {}),
            # While its SMS are being handed over (not until every delivery report is in: with
            # no status callbacks that would be never, and the form could not be edited).
            "reload": bool(progress) and not progress["finished"],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except JobAlreadyPosted as exc:  # two submits at once: the form's check passed twice
            self.message_user(request, exc.message, messages.WARNING)
            return redirect(reverse("admin:portal_jobposting_change", args=[exc.job.pk]))
        except PortalError as exc:  # the students changed between the form's check and the post
            self.message_user(request, exc.message, messages.ERROR)
            return redirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        job = services.job_post(
            company=data["company"],
            title=data["title"],
            description=data["description"],
            departments=data["departments"],
            min_graduation_year=data["min_graduation_year"],
            deadline=data["deadline"],
            by=request.user,
        )
        # The admin goes on with the form's instance (messages, log, redirect): make it the job.
        for field in (
            "id",
            "company",
            "title",
            "posted_by_id",
            "created_at",
            "announcement_bulk_id",
        ):
            setattr(obj, field, getattr(job, field))
        obj._state.adding, obj._state.db = False, job._state.db

    def save_related(self, request, form, formsets, change):
        if change:  # a new job's departments were set by job_post
            super().save_related(request, form, formsets, change)

    @admin.action(description="Close the selected jobs (no more applications)")
    def close(self, request, queryset):
        for job in queryset:
            services.job_close(job=job, by=request.user)
        self.message_user(request, f"{len(queryset)} job(s) closed.")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # it was announced, and students applied: close it instead
