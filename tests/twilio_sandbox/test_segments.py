"""Segment counting: GSM-7 with the extension table, UCS-2 in UTF-16 code units."""

from __future__ import annotations

import pytest

from twilio_sandbox.segments import count_segments, encoding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("hello", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),  # 162 septets
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 152 + "€" * 76 + "aa", 3),  # 306 septets, but an escape pair never straddles
        ("[]{}" * 40, 3),  # 320 septets: 152 + 152 + 16, escape pairs kept together
        ("ç", 1),  # not in GSM-7 (only Ç is) -> UCS-2
        ("é" * 160, 1),  # é is GSM-7
        ("Ж" * 70, 1),
        ("Ж" * 71, 2),
        ("Ж" * 134, 2),
        ("Ж" * 135, 3),
        ("😀" * 35, 1),  # 70 code units
        ("😀" * 36, 2),
        ("😀" * 34 + "a", 1),  # 69 code units
        ("😀" * 33 + "a" * 2, 1),
    ],
)
def test_count_segments(text, expected):
    assert count_segments(text) == expected


def test_encoding():
    assert encoding("Hello {world}") == "GSM-7"
    assert encoding("Hello 👋") == "UCS-2"
