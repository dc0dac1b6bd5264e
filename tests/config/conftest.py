"""Fixtures of the config tests: both DEBUG modes, and every log record."""

import logging

import pytest


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    """Both modes; Django's test runner turns DEBUG off at set-up, so each test sets it."""
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def log_records():
    """Every record of the project's loggers, also those that do not propagate to the root."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(level=logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("", "django", "notifications")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)
