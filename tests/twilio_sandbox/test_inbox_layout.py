"""The inbox page stays readable at 1280 px in a real browser, with long bodies and many rows."""

import pytest

from tests.browser import browser_page, overflow

pytestmark = pytest.mark.browser

SENDER = "+15005550006"
LONG_WORD = "https://example.com/interview/confirm?token=" + "a1b2c3d4" * 40
PROSE = " ".join(["Your interview with the placement cell is confirmed for Monday."] * 25)


@pytest.fixture
def crowded_inbox(sandbox):
    """Outbound messages with long words and long prose, failures, inbound replies."""
    client = sandbox.client()
    sandbox.configure(fail_numbers={"+919812345611": {"error_code": 30007, "status": "failed"}})
    for index in range(12):
        client.messages.create(to=f"+9198123456{index:02d}", from_=SENDER, body=LONG_WORD)
        client.messages.create(to=f"+9198123456{index:02d}", from_=SENDER, body=PROSE)
    client.messages.create(to="+919812345611", from_=SENDER, body="this one fails")
    client.messages.create(to="+15557770001", messaging_service_sid="MG" + "0" * 32, body="hi")
    for _ in range(3):
        sandbox.inbound(from_="+919812345610", body="STOP" + "!" * 200)
    return sandbox


def test_the_inbox_fits_a_1280_px_window_with_long_bodies(crowded_inbox, tmp_path):
    with browser_page() as page:
        page.goto(crowded_inbox.url("/_sandbox/?refresh=0"))
        page.screenshot(path=tmp_path / "inbox.png", full_page=False)
        measured = overflow(page, "table")
    assert measured == {"page": 0, "container": 0, "table_right": 0, "hidden_headers": []}
