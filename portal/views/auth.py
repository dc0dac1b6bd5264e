"""Registering (details, then the code sent by SMS), logging in and out."""

import math
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from notifications.exceptions import RateLimited, SMSError
from notifications.phone import normalize_phone_number
from portal import services
from portal.exceptions import PortalError, RegistrationExpired
from portal.forms import CodeForm, LoginForm, RegistrationForm
from portal.views.common import client_ip, error_message, show_error

PENDING = "portal_registration"  # the session's pending registration (services.PendingRegistration)
RESEND_AT = "portal_registration_resend_at"  # when the throttle lets a new code go (epoch s)
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


class PortalLoginView(LoginView):
    template_name = "portal/auth/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    next_page = "portal:dashboard"


class PortalLogoutView(LogoutView):
    """POST only (Django's rule since 5.0): a link or a prefetch cannot log anyone out."""

    next_page = "portal:login"


@require_http_methods(["GET", "POST"])
def register(request):
    """Step 1: the student's details; a valid form starts the phone's verification."""
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    status = 200
    if request.method == "POST":
        form = RegistrationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                pending = services.registration_start(
                    username=data["username"],
                    password=data["password"],
                    full_name=data["full_name"],
                    roll_number=data["roll_number"],
                    department=data["department"],
                    graduation_year=data["graduation_year"],
                    phone=data["phone"],
                    client_ip=client_ip(request),
                )
            except (PortalError, SMSError) as exc:
                if _code_just_sent(request, exc, data["phone"]):
                    return redirect("portal:register-verify")  # a second click of "Send"
                status = show_error(form, exc)
            else:
                request.session[PENDING] = pending.as_session()
                request.session.pop(RESEND_AT, None)
                return redirect("portal:register-verify")
        else:
            status = 400
    else:
        form = RegistrationForm(initial=_pending_initial(request))
    return render(request, "portal/auth/register.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def register_verify(request):
    """Step 2: the code from the SMS; "send a new code" waits out the throttle's cool-down."""
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    try:
        pending = services.PendingRegistration.from_session(request.session.get(PENDING))
    except RegistrationExpired:
        request.session.pop(PENDING, None)
        messages.info(request, "Fill in your details first: we then send a code to your phone.")
        return redirect("portal:register")
    form, status, resend_error = CodeForm(), 200, ""
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            services.registration_resend(pending=pending, client_ip=client_ip(request))
        except RateLimited as exc:
            request.session[RESEND_AT] = time.time() + exc.retry_after
            resend_error, status = error_message(exc), 429
        except (PortalError, SMSError) as exc:
            resend_error, status = error_message(exc), 400
        else:
            request.session.pop(RESEND_AT, None)
            messages.success(request, f"A new code is on its way to {pending_phone(pending)}.")
            return redirect("portal:register-verify")
    elif request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                profile = services.registration_complete(
                    pending=pending, code=form.cleaned_data["code"], client_ip=client_ip(request)
                )
            except (PortalError, SMSError) as exc:
                status = show_error(form, exc)
            else:
                request.session.pop(PENDING, None)
                request.session.pop(RESEND_AT, None)
                login(request, profile.user, backend=AUTH_BACKEND)
                messages.success(
                    request,
                    "Your phone is verified and your registration is submitted. The placement "
                    "office reviews it; you get an SMS when it is decided.",
                )
                return redirect("portal:dashboard")
        else:
            status = 400
    context = {
        "form": form,
        "masked_phone": pending_phone(pending),
        "cooldown": cooldown_left(request),
        "resend_error": resend_error,
    }
    return render(request, "portal/auth/register_verify.html", context, status=status)


def pending_phone(pending) -> str:
    return pending.masked_phone


def cooldown_left(request, key: str = RESEND_AT) -> int:
    """Whole seconds until the throttle lets a new code go, as it last said (0: now)."""
    resend_at = request.session.get(key)
    if not resend_at:
        return 0
    return max(math.ceil(resend_at - time.time()), 0)


def _code_just_sent(request, exc: Exception, phone: str) -> bool:
    """A start refused by the cool-down that repeats the one this session just made to the same
    number (a double submit): the code is on its way, the second click changes nothing."""
    if not (isinstance(exc, RateLimited) and exc.limit == "resend_cooldown"):
        return False
    try:
        pending = services.PendingRegistration.from_session(request.session.get(PENDING))
        return pending.phone == normalize_phone_number(phone)
    except (RegistrationExpired, SMSError):
        return False


def _pending_initial(request) -> dict:
    """ "Start again" shows what the student typed before (never the password)."""
    try:
        pending = services.PendingRegistration.from_session(request.session.get(PENDING))
    except RegistrationExpired:
        return {}
    return {
        "username": pending.username,
        "full_name": pending.full_name,
        "roll_number": pending.roll_number,
        "department": pending.department_id,
        "graduation_year": pending.graduation_year,
        "phone": pending.phone,
    }
