"""Django project configuration: the only package that reads the environment.

The Celery app is imported here so that every Django process (web servers included) publishes
tasks through it, configured from settings, rather than through Celery's unconfigured default.
"""

from worker import app as celery_app

__all__ = ["celery_app"]
