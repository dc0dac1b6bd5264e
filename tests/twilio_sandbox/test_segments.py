"""Segment counting: GSM-7 with the extension table, UCS-2 in UTF-16 code units."""

from __future__ import annotations

import pytest

from tests.segment_cases import CASES
from twilio_sandbox.segments import count_segments, encoding


@pytest.mark.parametrize(("text", "expected_encoding", "units", "segments"), CASES)
def test_it_counts_segments_as_twilio_bills_them(text, expected_encoding, units, segments):
    assert (encoding(text), count_segments(text)) == (expected_encoding, segments)
