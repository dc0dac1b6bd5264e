import pytest

from notifications.segments import count_segments


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets each
        ("€" * 81, "GSM-7", 2),
        ("Hello ₹", "UCS-2", 1),
        ("ä" * 160 + "{", "GSM-7", 2),
        ("é" * 70, "GSM-7", 1),
        ("ç" * 70, "UCS-2", 1),  # lower-case ç is not in GSM-7, only Ç is
        ("ç" * 71, "UCS-2", 2),
        ("ç" * 134, "UCS-2", 2),
        ("ç" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # a surrogate pair is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_it_counts_segments_as_carriers_bill_them(body, encoding, segments):
    info = count_segments(body)
    assert (info.encoding, info.segments) == (encoding, segments)
