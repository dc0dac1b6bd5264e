"""The portal's forms: they check what a person typed; the services decide the rest.

Field names are the services' argument names, so that a service's error (portal.exceptions,
whose `field` names an argument) lands on the field it is about. Every form renders through
portal/templates/portal/forms/: a label for each field, its error right under it and tied to it
with aria-describedby, errors about the whole form in an alert above.
"""

from datetime import date

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import RegexValidator
from django.forms.renderers import DjangoTemplates
from django.utils import timezone

from notifications.exceptions import InvalidPhoneNumber
from notifications.phone import normalize_phone_number
from portal.messages import COMPANY_MAX, FULL_NAME_MAX, TITLE_MAX
from portal.models import STATUS_TRANSITIONS, Application, Department

PHONE_HELP = "With the country code, e.g. +91 98123 45610. A code is sent to it by SMS."
GRADUATION_YEARS = 8  # years ahead (and behind) that a graduation year may be


class PortalRenderer(DjangoTemplates):
    form_template_name = "portal/forms/form.html"
    field_template_name = "portal/forms/field.html"


class PortalForm(forms.Form):
    default_renderer = PortalRenderer()


def _year_bounds() -> tuple[int, int]:
    this_year = date.today().year
    return this_year - GRADUATION_YEARS, this_year + GRADUATION_YEARS


def graduation_year_field(label: str = "Graduation year", **kwargs) -> forms.IntegerField:
    low, high = _year_bounds()
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "min_value": f"Give a year from {low} to {high}.",
            "max_value": f"Give a year from {low} to {high}.",
            "invalid": "Give the year as four digits, e.g. 2026.",
        },
        **kwargs,
    )


def department_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Department",
        queryset=Department.objects.order_by("name"),
        empty_label="Choose your department",
        error_messages={"invalid_choice": "Choose a department from the list."},
    )


def check_phone(text: str) -> str:
    """`text` if it reads as a phone number (so its error shows with the form's others); the
    service normalizes it and applies the rest (country, uniqueness, throttles)."""
    try:
        normalize_phone_number(text)
    except InvalidPhoneNumber as exc:
        raise forms.ValidationError(exc.message) from None
    return text


def phone_field(label: str = "Mobile number") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        help_text=PHONE_HELP,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )


class RegistrationForm(PortalForm):
    username = forms.CharField(
        label="Username",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 8 characters; not only digits, not a common password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    full_name = forms.CharField(
        label="Full name",
        max_length=FULL_NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    roll_number = forms.CharField(label="Roll number", max_length=32)
    department = department_field()
    graduation_year = graduation_year_field()
    phone = phone_field()

    def clean_phone(self):
        return check_phone(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


class CodeForm(PortalForm):
    code = forms.CharField(
        label="Code from the SMS",
        max_length=10,
        min_length=4,
        validators=[RegexValidator(r"^[0-9]+$", "The code has digits only.")],
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "code-input",
            }
        ),
        error_messages={
            "min_length": "The code has at least 4 digits.",
            "max_length": "The code has at most 10 digits.",
        },
    )


class LoginForm(AuthenticationForm):
    default_renderer = PortalRenderer()
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "This username and password do not match an account.",
    }


class ProfileForm(PortalForm):
    full_name = forms.CharField(
        label="Full name",
        max_length=FULL_NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    department = department_field()
    graduation_year = graduation_year_field()

    def __init__(self, *args, locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if locked:
            # An approved student's department and year decide their jobs: only the office
            # changes them (the service refuses it too).
            for name in ("department", "graduation_year"):
                self.fields[name].disabled = True
                self.fields[name].validators = []  # what the office approved stands as it is
                self.fields[name].help_text = "Set when the office approved you; ask it to change."


class PhoneForm(PortalForm):
    phone = phone_field("New mobile number")

    def clean_phone(self):
        return check_phone(self.cleaned_data["phone"])


class JobForm(PortalForm):
    company = forms.CharField(label="Company", max_length=COMPANY_MAX)
    title = forms.CharField(label="Job title", max_length=TITLE_MAX)
    description = forms.CharField(
        label="Description", widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    departments = forms.ModelMultipleChoiceField(
        label="Open to the departments",
        queryset=Department.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one department."},
    )
    min_graduation_year = graduation_year_field(
        "Graduating in or after",
        help_text="Students graduating in this year or later are eligible.",
    )
    deadline = forms.DateTimeField(
        label="Applications close",
        help_text="Date and time (UTC).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"invalid": "Give a date and time, e.g. 2026-05-31 17:00."},
    )

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline <= timezone.now():
            raise forms.ValidationError("The deadline must be in the future.")
        return deadline


STATUS_LABELS = dict(Application.Status.choices)


class StatusForm(PortalForm):
    """The next status of one application: only the statuses its current one allows.

    `current` is the status the page showed: a form posted from a page that is out of date (a
    second click, a colleague's change) is told what happened instead of being applied.
    """

    current = forms.CharField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label="New status", error_messages={"required": "Choose the new status."}
    )

    def __init__(self, *args, application, **kwargs):
        kwargs.setdefault("prefix", f"application-{application.pk}")
        kwargs.setdefault("initial", {"current": application.status})
        super().__init__(*args, **kwargs)
        self.application = application
        field = self.fields["status"]
        field.choices = [("", "Choose…")] + [
            (status, STATUS_LABELS.get(status, status)) for status in self.allowed
        ]
        field.label = f"New status for {application.student.full_name}"
        # Django's "not one of the available choices" would not say what may come next.
        field.error_messages["invalid_choice"] = skip_message(application.status)

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(STATUS_TRANSITIONS.get(self.application.status, ()))

    def clean(self):
        cleaned = super().clean()
        now = self.application.status
        shown = cleaned.get("current")
        if shown and shown != now:
            self.errors.pop("status", None)
            if self.data.get(self.add_prefix("status")) == now:
                cleaned["status"] = now  # a second click: done already, the service says so
            else:
                self.add_error("status", stale_message(now))
        return cleaned


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status)).lower()


def skip_message(current: str) -> str:
    """Why a status is refused: what the current one allows (%(value)s is the one posted)."""
    allowed = STATUS_TRANSITIONS.get(current, ())
    if not allowed:
        return f"This application is {status_label(current)}: that is final."
    nexts = " or ".join(status_label(status) for status in allowed)
    return (
        f"An application that is {status_label(current)} can move to {nexts} next, "
        "not to %(value)s."
    )


def stale_message(current: str) -> str:
    return (
        f"This application is {status_label(current)} now: it changed after this page was "
        "loaded, and nothing was changed or sent. Choose again."
    )
