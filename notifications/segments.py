"""SMS segment counting, as carriers bill it: GSM-7 when possible, else UCS-2."""

from dataclasses import dataclass

# GSM 03.38 default alphabet and its extension table (extension characters cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def count_segments(body: str) -> SegmentInfo:
    """How many segments `body` takes: 160/153 septets, or 70/67 UTF-16 units when concatenated.

    A two-septet extension character (ESC + char) or a UTF-16 surrogate pair is never split
    across segments, so it starts the next one when it would straddle the boundary.
    """
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in body):
        sizes = [2 if ch in GSM7_EXTENDED else 1 for ch in body]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in body]  # a surrogate pair outside the BMP
        single, multi, encoding = 70, 67, "UCS-2"
    units = sum(sizes)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SegmentInfo(encoding, units, segments)
