import logging

from notifications.logging import MaskPhoneNumbersFilter


def test_every_number_in_a_log_line_is_masked():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "to %s and %s", ("+919812345610", "+12015550123"), None
    )
    assert MaskPhoneNumbersFilter().filter(record)
    assert record.getMessage() == "to +9198******10 and +1201*****23"


def test_lines_without_numbers_are_left_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "attempt %d of %d", (1, 3), None)
    MaskPhoneNumbersFilter().filter(record)
    assert record.msg == "attempt %d of %d" and record.args == (1, 3)


def test_what_reaches_the_sms_log_file_is_masked(settings):
    """The configured file handler carries the filter: logs/sms(-test).log never has a number."""
    import uuid
    from pathlib import Path

    marker = uuid.uuid4().hex
    logger = logging.getLogger("notifications.services")
    logger.warning("marker %s to %s", marker, "+919812345610")
    for handler in logging.getLogger("notifications").handlers:
        handler.flush()
    lines = [
        line
        for line in Path(settings.LOGGING["handlers"]["sms_file"]["filename"])
        .read_text()
        .splitlines()
        if marker in line
    ]
    assert lines and lines[-1].endswith(f"marker {marker} to +9198******10")
