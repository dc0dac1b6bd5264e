"""The single place that reads environment variables (and `.env`, when present)."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's `.env` is honoured; real environment variables win over it.
# DJANGO_ENV_FILE names another file, or "" for none.
ENV_FILE = os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE, overwrite=False)
