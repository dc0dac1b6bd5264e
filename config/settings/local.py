"""Developer machine settings: the default of manage.py, the WSGI app and the worker."""

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
