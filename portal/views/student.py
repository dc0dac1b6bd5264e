"""A student's pages: dashboard, jobs and applying, applications, SMS, profile and phone."""

import time

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from notifications.exceptions import RateLimited, SMSError
from notifications.phone import mask_phone_number, normalize_phone_number
from portal import selectors, services
from portal.exceptions import PortalError
from portal.forms import CodeForm, PhoneForm, ProfileForm
from portal.models import JobPosting
from portal.views.auth import cooldown_left
from portal.views.common import (
    FORM_ERROR,
    client_ip,
    error_message,
    show_error,
    student_required,
)

NEW_PHONE = "portal_new_phone"  # the number being verified (E.164), kept in the session
NEW_PHONE_RESEND_AT = "portal_new_phone_resend_at"
RECENT = 5  # applications and SMS on the dashboard


@require_GET
@student_required
def dashboard(request, profile):
    applications = selectors.applications_of(profile)
    context = {
        "profile": profile,
        "jobs": selectors.open_jobs_for(profile) if profile.is_approved else [],
        "applications": applications[:RECENT],
        "application_count": applications.count(),
        "notifications": selectors.notifications_of(profile, limit=RECENT),
    }
    return render(request, "portal/student/dashboard.html", context)


@require_http_methods(["GET", "POST"])
@student_required
def job_detail(request, profile, job_id: int):
    """A job; POST applies for it (once: a second submit is refused, with no second SMS)."""
    job = get_object_or_404(JobPosting.objects.prefetch_related("departments"), pk=job_id)
    apply_error, status = "", 200
    if request.method == "POST":
        try:
            services.application_create(student=profile, job=job)
        except PortalError as exc:
            apply_error, status = error_message(exc), FORM_ERROR
        else:
            messages.success(
                request,
                f"You applied for {job.title} at {job.company}. An SMS confirms it.",
            )
            return redirect("portal:job", job_id=job.pk)
    application = selectors.applications_of(profile).filter(job=job).first()
    context = {
        "profile": profile,
        "job": job,
        "application": application,
        "history": application.history.select_related("changed_by") if application else [],
        "eligible": selectors.is_eligible(student=profile, job=job),
        "apply_error": apply_error,
    }
    return render(request, "portal/student/job.html", context, status=status)


@require_GET
@student_required
def applications(request, profile):
    rows = selectors.applications_of(profile).prefetch_related("history")
    return render(
        request, "portal/student/applications.html", {"profile": profile, "applications": rows}
    )


@require_GET
@student_required
def application_detail(request, profile, application_id: int):
    """One of the student's own applications with its history; anyone else's is a 404."""
    application = get_object_or_404(
        selectors.applications_of(profile).prefetch_related("history"), pk=application_id
    )
    context = {"profile": profile, "application": application}
    return render(request, "portal/student/application.html", context)


@require_GET
@student_required
def notifications(request, profile):
    rows = selectors.notifications_of(profile)
    return render(
        request, "portal/student/notifications.html", {"profile": profile, "notifications": rows}
    )


@require_http_methods(["GET", "POST"])
@student_required
def profile_edit(request, profile):
    initial = {
        "full_name": profile.full_name,
        "department": profile.department_id,
        "graduation_year": profile.graduation_year,
    }
    locked = profile.is_approved
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, initial=initial, locked=locked)
        if form.is_valid():
            try:
                services.profile_update(profile=profile, **form.cleaned_data)
            except PortalError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("portal:profile")
        else:
            status = FORM_ERROR
    else:
        form = ProfileForm(initial=initial, locked=locked)
    context = {"profile": profile, "form": form}
    return render(request, "portal/student/profile.html", context, status=status)


@require_http_methods(["GET", "POST"])
@student_required
def phone_change(request, profile):
    """A new number: a code goes to it first; the profile changes once the code is right."""
    status = 200
    if request.method == "POST":
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                number = services.phone_change_start(
                    profile=profile, phone=form.cleaned_data["phone"], client_ip=client_ip(request)
                )
            except (PortalError, SMSError) as exc:
                if _code_just_sent(request, exc, form.cleaned_data["phone"]):
                    return redirect("portal:phone-verify")
                status = show_error(form, exc)
            else:
                request.session[NEW_PHONE] = number
                request.session.pop(NEW_PHONE_RESEND_AT, None)
                return redirect("portal:phone-verify")
        else:
            status = FORM_ERROR
    else:
        form = PhoneForm()
    context = {"profile": profile, "form": form}
    return render(request, "portal/student/phone.html", context, status=status)


@require_http_methods(["GET", "POST"])
@student_required
def phone_verify(request, profile):
    number = request.session.get(NEW_PHONE)
    if not number:
        messages.info(request, "Give your new number first: we then send a code to it.")
        return redirect("portal:phone")
    form, status, resend_error = CodeForm(), 200, ""
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            services.phone_change_start(profile=profile, phone=number, client_ip=client_ip(request))
        except RateLimited as exc:
            request.session[NEW_PHONE_RESEND_AT] = time.time() + exc.retry_after
            resend_error, status = error_message(exc), 429
        except (PortalError, SMSError) as exc:
            resend_error, status = error_message(exc), FORM_ERROR
        else:
            request.session.pop(NEW_PHONE_RESEND_AT, None)
            messages.success(request, f"A new code is on its way to {mask_phone_number(number)}.")
            return redirect("portal:phone-verify")
    elif request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                services.phone_change_confirm(
                    profile=profile,
                    phone=number,
                    code=form.cleaned_data["code"],
                    client_ip=client_ip(request),
                )
            except (PortalError, SMSError) as exc:
                status = show_error(form, exc)
            else:
                request.session.pop(NEW_PHONE, None)
                request.session.pop(NEW_PHONE_RESEND_AT, None)
                messages.success(
                    request, f"Your phone number is now {mask_phone_number(number)}, verified."
                )
                return redirect("portal:profile")
        else:
            status = FORM_ERROR
    context = {
        "profile": profile,
        "form": form,
        "masked_phone": mask_phone_number(number),
        "cooldown": cooldown_left(request, NEW_PHONE_RESEND_AT),
        "resend_error": resend_error,
    }
    return render(request, "portal/student/phone_verify.html", context, status=status)


def _code_just_sent(request, exc: Exception, phone: str) -> bool:
    """The cool-down refused a code this session just asked for the same number (a double
    submit): the code is on its way."""
    if not (isinstance(exc, RateLimited) and exc.limit == "resend_cooldown"):
        return False
    try:
        return request.session.get(NEW_PHONE) == normalize_phone_number(phone)
    except SMSError:
        return False
