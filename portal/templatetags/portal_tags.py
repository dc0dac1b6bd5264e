"""Template helpers of the portal's pages: its name, navigation links, status badges."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portal import conf

register = template.Library()

# Badge tone by status, for SMS and applications alike; the badge's text always says the status.
TONES = {
    "delivered": "ok",
    "selected": "ok",
    "approved": "ok",
    "failed": "bad",
    "undelivered": "bad",
    "canceled": "bad",
    "rejected": "bad",
    "skipped": "neutral",
}


@register.simple_tag
def portal_name() -> str:
    return conf.get("PORTAL_NAME")


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str, *also: str):
    """A navigation link, marked aria-current="page" on its own page (or on any of `also`)."""
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.view_name if match else ""
    here = current == url_name or current in also
    return format_html(
        '<a href="{}"{}>{}</a>',
        reverse(url_name),
        mark_safe(' aria-current="page"') if here else "",  # noqa: S308 (a constant)
        label,
    )


@register.simple_tag
def badge(status: str, label: str = ""):
    """The status as a badge: text first, colour as a repeat of it."""
    tone = TONES.get(str(status), "wait")
    return format_html(
        '<span class="badge badge-{}" data-status="{}">{}</span>',
        tone,
        status,
        label or str(status).replace("_", " "),
    )
