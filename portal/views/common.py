"""What every portal view shares: who may see a page, and how a service's error reaches a form."""

import math
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse

from notifications.exceptions import (
    ProviderUnavailable,
    RateLimited,
    ServiceUnavailable,
    SMSError,
)
from notifications.http import client_ip
from portal.exceptions import InvalidPassword, PortalError
from portal.models import StudentProfile

__all__ = ["client_ip", "show_error", "staff_required", "student_required"]

# notifications' errors name their own fields; on a portal form they are about these.
FIELD_ALIASES = {"to": "phone", "phone_number": "phone"}
FORM_ERROR = 400
THROTTLED = 429
UNAVAILABLE = 503


def _to_login(request):
    return redirect_to_login(request.get_full_path(), reverse("portal:login"))


def forbidden(request, message: str):
    return render(request, "portal/403.html", {"message": message}, status=403)


def staff_required(view):
    """The placement office's pages: anonymous → log in (with `next`), a student → 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _to_login(request)
        if not request.user.is_staff:
            return forbidden(request, "This page is for the placement office.")
        return view(request, *args, **kwargs)

    return wrapper


def student_required(view):
    """A student's pages, called with their profile: anonymous → log in (with `next`); staff
    → the office's home; an account without a student profile → 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _to_login(request)
        profile = (
            StudentProfile.objects.select_related("department", "user")
            .filter(user=request.user)
            .first()
        )
        if profile is None:
            if request.user.is_staff:
                return redirect("portal:office")
            return forbidden(request, "This account has no student profile.")
        return view(request, profile, *args, **kwargs)

    return wrapper


def show_error(form, exc: Exception) -> int:
    """Put a service's error on the form field it is about (else above the form); return the
    status the page answers with (429 when throttled, 503 when Redis is down, else 400)."""
    name = getattr(exc, "field", None)
    name = FIELD_ALIASES.get(name, name)
    if name not in form.fields:
        name = None
    form.add_error(name, error_messages(exc))
    if isinstance(exc, ServiceUnavailable):
        return UNAVAILABLE
    return THROTTLED if isinstance(exc, RateLimited) else FORM_ERROR


def error_messages(exc: Exception) -> list[str]:
    """What to tell the person: one sentence per problem (each password rule on its own)."""
    if isinstance(exc, InvalidPassword):
        return list(exc.messages)
    return [error_message(exc)]


def error_message(exc: Exception) -> str:
    if isinstance(exc, RateLimited):
        return throttled_message(exc)
    if isinstance(exc, ProviderUnavailable):
        return "The SMS provider cannot be reached just now; nothing was sent. Try again shortly."
    if isinstance(exc, ServiceUnavailable):
        return "Codes cannot be sent or checked just now; nothing was sent. Try again shortly."
    if isinstance(exc, PortalError | SMSError):
        return exc.message
    return str(exc)


def throttled_message(exc: RateLimited) -> str:
    wait = wait_text(exc.retry_after)
    if exc.limit == "resend_cooldown":
        return f"A code was sent to this number moments ago. You can ask for a new one in {wait}."
    if exc.limit == "checks_day":
        return f"Too many codes were tried for this number; try again in {wait}."
    return f"Too many codes were asked for; try again in {wait}."


def wait_text(seconds: float | None) -> str:
    seconds = max(math.ceil(seconds or 1), 1)
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"
