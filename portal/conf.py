"""The portal's settings, read from django.conf.settings at call time, with documented defaults.

DEFAULTS is the one source of every default: config/settings/base.py reads each variable with
its default taken from here, and a test fails when the two drift apart.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # In every message the portal sends (a message template must say {portal}).
    "PORTAL_NAME": "Placement Portal",
    # A message template whose longest plausible rendering takes more segments is refused.
    "PORTAL_MAX_TEMPLATE_SEGMENTS": 3,
}


def get(name: str) -> Any:
    """The setting's value, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])
