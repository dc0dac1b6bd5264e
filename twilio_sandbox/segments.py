"""SMS segment counting: GSM-7 (160/153 septets) or UCS-2 (70/67 UTF-16 code units)."""

from __future__ import annotations

# GSM 03.38 default alphabet (without the ESC code itself) and the extension table, whose
# characters take two septets (ESC + char). See https://www.twilio.com/docs/glossary/what-is-gsm-7-character-encoding
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION

# Segment sizes: https://www.twilio.com/docs/glossary/what-sms-character-limit
GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(text: str) -> bool:
    return GSM7_ALL.issuperset(text)


def _pack(units: list[int], single: int, multi: int) -> int:
    """Greedy split where a multi-unit character (escape pair, surrogate pair) never straddles."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments


def count_segments(text: str) -> int:
    """Number of SMS segments Twilio bills for `text` (an empty body still takes one)."""
    if not text:
        return 1
    if is_gsm7(text):
        # Fast path: only basic-alphabet characters, one septet each.
        if GSM7_BASIC.issuperset(text):
            n = len(text)
            return 1 if n <= GSM7_SINGLE else -(-n // GSM7_MULTI)
        return _pack([2 if ch in GSM7_EXTENSION else 1 for ch in text], GSM7_SINGLE, GSM7_MULTI)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (most emoji) take two.
    return _pack([2 if ord(ch) > 0xFFFF else 1 for ch in text], UCS2_SINGLE, UCS2_MULTI)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"
