"""Message templates: each event's placeholders and default text, checked and rendered.

A template is str.format text with plain named placeholders only ({name}, never {0},
{name.attr}, {name[0]} or {name:>30}), so rendering can never reach an attribute of a value.
It is measured at its longest plausible rendering (each value at the longest the portal
stores), which is what a carrier may bill: GSM-7 or UCS-2, and how many segments.
"""

from datetime import datetime
from string import Formatter

from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications.segments import GSM7_BASIC, GSM7_EXTENDED, SegmentInfo, count_segments
from portal import conf

# The longest value each placeholder takes (the model fields' max_length say the same).
FULL_NAME_MAX = 70
COMPANY_MAX = 60
TITLE_MAX = 80

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "registration_received": ("portal", "name"),
    "registration_approved": ("portal", "name"),
    "registration_rejected": ("portal", "name"),
    "job_posted": ("portal", "company", "title", "deadline"),
    "application_received": ("portal", "name", "company", "title"),
    "application_status": ("portal", "name", "company", "title", "status"),
}
# Without these a message says nothing: whose portal it is, which job, which decision.
REQUIRED: dict[str, tuple[str, ...]] = {
    "registration_received": ("portal",),
    "registration_approved": ("portal",),
    "registration_rejected": ("portal",),
    "job_posted": ("portal", "title"),
    "application_received": ("portal", "title"),
    "application_status": ("portal", "title", "status"),
}
DEFAULT_BODIES: dict[str, str] = {
    "registration_received": (
        "{portal}: Hi {name}, your phone is verified and your registration is waiting for the "
        "placement office's approval. We will text you when it is reviewed."
    ),
    "registration_approved": (
        "{portal}: Hi {name}, your registration is approved. Log in to see the jobs open to you "
        "and apply."
    ),
    "registration_rejected": (
        "{portal}: Hi {name}, your registration was not approved. Please contact the placement "
        "office if you think this is a mistake."
    ),
    "job_posted": (
        "{portal}: {company} is hiring: {title}. Apply by {deadline}. Log in to see the details."
    ),
    "application_received": (
        "{portal}: Hi {name}, we received your application for {title} at {company}."
    ),
    "application_status": (
        "{portal}: Hi {name}, your application for {title} at {company} is now: {status}."
    ),
}


def format_deadline(deadline: datetime) -> str:
    """`31 Dec 2025, 17:00 UTC`: in the site's time zone, always the same width."""
    return timezone.localtime(deadline).strftime("%d %b %Y, %H:%M %Z")


def longest_values() -> dict[str, str]:
    """Each placeholder at its longest plausible value (GSM-7 letters)."""
    from portal.models import Application  # the status labels

    sample_deadline = timezone.make_aware(datetime(2030, 12, 31, 23, 59))
    return {
        "portal": conf.get("PORTAL_NAME"),
        "name": "W" * FULL_NAME_MAX,
        "company": "W" * COMPANY_MAX,
        "title": "W" * TITLE_MAX,
        "deadline": format_deadline(sample_deadline),
        "status": max((str(label) for label in Application.Status.labels), key=len),
    }


def placeholders_in(body: str) -> list[str]:
    """The names of the placeholders in `body`; ValidationError for anything but {name}."""
    try:
        parsed = list(Formatter().parse(body))
    except ValueError as exc:
        raise ValidationError(
            "A brace is not paired: write {{ or }} for a brace of its own.", code="braces"
        ) from exc
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValidationError(
                "Write each placeholder as a plain name in braces, like {name}: not %(field)s.",
                code="placeholder_form",
                params={"field": "{" + name + (f"!{conversion}" if conversion else "")
                        + (f":{spec}" if spec else "") + "}"},
            )  # fmt: skip
        names.append(name)
    return names


def braced(names) -> str:
    return ", ".join("{" + name + "}" for name in names)


def check(event: str, body: str) -> SegmentInfo:
    """The encoding and segments of `body` at its longest plausible rendering.

    Raises ValidationError listing every problem: an empty body, malformed or unknown
    placeholders, missing required ones, more than PORTAL_MAX_TEMPLATE_SEGMENTS segments.
    """
    if not (body or "").strip():
        raise ValidationError("The message is empty.", code="empty")
    names = set(placeholders_in(body))
    allowed, required = PLACEHOLDERS[event], REQUIRED[event]
    errors = []
    unknown = sorted(names - set(allowed))
    if unknown:
        errors.append(
            ValidationError(
                "Unknown placeholder(s): %(unknown)s. This message may use: %(allowed)s.",
                code="unknown_placeholder",
                params={
                    "unknown": braced(unknown),
                    "allowed": braced(allowed),
                },
            )
        )
    missing = [name for name in required if name not in names]
    if missing:
        errors.append(
            ValidationError(
                "The message must include %(missing)s.",
                code="missing_placeholder",
                params={"missing": braced(missing)},
            )
        )
    if errors:
        raise ValidationError(errors)
    info = measure(body)
    limit = int(conf.get("PORTAL_MAX_TEMPLATE_SEGMENTS"))
    if info.segments > limit:
        raise ValidationError(
            "With the longest names it may be sent with, this message takes %(segments)d SMS "
            "segments (%(encoding)s); at most %(limit)d are allowed. Shorten it%(hint)s.",
            code="too_long",
            params={
                "segments": info.segments,
                "encoding": info.encoding,
                "limit": limit,
                "hint": " or use only GSM-7 characters" if info.encoding == "UCS-2" else "",
            },
        )
    return info


def measure(body: str) -> SegmentInfo:
    """Encoding and segments of a (well-formed) body at its longest plausible rendering."""
    return count_segments(render(body, longest_values()).strip())


def non_gsm_characters(body: str) -> list[str]:
    """The characters that make `body` UCS-2, in order of appearance, each once."""
    seen: dict[str, None] = {}
    for char in body:
        if char not in GSM7_BASIC and char not in GSM7_EXTENDED:
            seen[char] = None
    return list(seen)


def render(body: str, values: dict[str, str]) -> str:
    """`body` with its placeholders filled in (checked bodies hold plain names only)."""
    return body.format_map(values)
