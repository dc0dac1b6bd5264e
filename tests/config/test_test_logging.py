"""The suite's logging (config/settings/test.py) writes nothing inside the repository."""

import logging
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def file_handlers() -> list[logging.FileHandler]:
    loggers = [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]
    return [h for lg in loggers for h in lg.handlers if isinstance(h, logging.FileHandler)]


def test_no_configured_log_file_is_inside_the_repository(settings):
    files = [h["filename"] for h in settings.LOGGING["handlers"].values() if "filename" in h]
    assert files and not [f for f in files if Path(f).resolve().is_relative_to(ROOT)]


def test_what_the_notifications_loggers_write_grows_no_file_in_the_repository():
    before = {p: p.stat().st_size for p in ROOT.joinpath("logs").glob("*")}
    logging.getLogger("notifications.services").warning("probe %s", uuid.uuid4().hex)
    handlers = [h for h in file_handlers() if h.baseFilename != "/dev/null"]
    assert handlers  # the masking file handler is still exercised, outside the repository
    assert not [h for h in handlers if Path(h.baseFilename).is_relative_to(ROOT)]
    after = {p: p.stat().st_size for p in ROOT.joinpath("logs").glob("*")}
    assert after == before
