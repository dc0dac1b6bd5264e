"""Production hardening on top of base: secrets required, HTTPS everywhere."""

from config.env import env
from config.logging import logging_config
from config.settings.base import *  # noqa: F403

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/live$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Allows submitting the domain to browsers' preload list (hstspreload.org); sending it commits
# nothing by itself. Set false for a host whose subdomains are not all HTTPS.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Containers log to stdout (a file per container is lost with it, and processes rotating one
# file collide); LOG_FORMAT=json gives one JSON object per line for log shippers.
LOG_FILE = env.str("LOG_FILE", default="")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT, log_file=LOG_FILE)  # noqa: F405
