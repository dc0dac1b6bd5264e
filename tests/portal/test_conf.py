"""The portal's settings: one source of defaults (portal.conf), PORTAL_NAME from the environment."""

import json

from portal import conf
from tests.helpers import run_in_environment


def base_settings(**environment) -> dict:
    """The PORTAL_* values of config.settings.base in a clean environment plus `environment`."""
    code = (
        "import json; from config.settings import base;"
        "print(json.dumps({n: getattr(base, n) for n in dir(base) if n.startswith('PORTAL_')}))"
    )
    result = run_in_environment(code, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_base_settings_take_their_defaults_from_portal_conf():
    assert (
        base_settings()
        == conf.DEFAULTS
        == {
            "PORTAL_NAME": "Placement Portal",
            "PORTAL_MAX_TEMPLATE_SEGMENTS": 3,
        }
    )


def test_the_portal_name_comes_from_the_environment():
    assert base_settings(PORTAL_NAME="IIT Demo Placements")["PORTAL_NAME"] == "IIT Demo Placements"


def test_the_app_reads_the_settings_at_call_time(settings):
    settings.PORTAL_NAME = "Campus Jobs"
    assert conf.get("PORTAL_NAME") == "Campus Jobs"
    del settings.PORTAL_MAX_TEMPLATE_SEGMENTS
    assert conf.get("PORTAL_MAX_TEMPLATE_SEGMENTS") == 3
