"""One table of segment-counting boundary cases, shared by the app's and the sandbox's tests.

Single segments hold 160 GSM-7 septets or 70 UTF-16 code units; concatenated ones 153 or 67.
A two-septet GSM-7 extension character (ESC + char) and a UTF-16 surrogate pair are never
split across segments, so a body whose units would fill its segments exactly can need one more.
https://www.twilio.com/docs/glossary/what-sms-character-limit
"""

from __future__ import annotations

import pytest

EMOJI = "😀"  # outside the BMP: a surrogate pair, two UTF-16 code units
UCS = "Ж"  # one UTF-16 code unit, not in GSM-7

# (body, encoding, units, segments)
CASES = [
    pytest.param("", "GSM-7", 0, 1, id="empty"),
    pytest.param("hello", "GSM-7", 5, 1, id="short"),
    pytest.param("a" * 160, "GSM-7", 160, 1, id="gsm-160-fills-one"),
    pytest.param("a" * 161, "GSM-7", 161, 2, id="gsm-161-needs-two"),
    pytest.param("a" * 306, "GSM-7", 306, 2, id="gsm-306-fills-two"),
    pytest.param("a" * 307, "GSM-7", 307, 3, id="gsm-307-needs-three"),
    pytest.param("€" * 80, "GSM-7", 160, 1, id="extension-160-septets"),
    pytest.param("€" * 81, "GSM-7", 162, 2, id="extension-162-septets"),
    pytest.param("x" * 158 + "€", "GSM-7", 160, 1, id="extension-at-the-end-of-one"),
    pytest.param("a" * 159 + "€", "GSM-7", 161, 2, id="extension-161-septets"),
    pytest.param("ä" * 160 + "{", "GSM-7", 162, 2, id="accented-gsm-and-extension"),
    pytest.param("é" * 160, "GSM-7", 160, 1, id="e-acute-is-gsm"),
    # An escape pair that would straddle septets 153/154 moves whole into the next segment.
    pytest.param("x" * 152 + "€" + "x" * 152, "GSM-7", 306, 3, id="extension-straddles"),
    pytest.param("x" * 151 + "€" + "x" * 153, "GSM-7", 306, 2, id="extension-ends-a-segment"),
    pytest.param("a" * 152 + "€" * 76 + "aa", "GSM-7", 306, 3, id="many-extensions-straddle"),
    pytest.param("[]{}" * 40, "GSM-7", 320, 3, id="only-extensions"),
    pytest.param("ç", "UCS-2", 1, 1, id="c-cedilla-is-not-gsm"),
    pytest.param("Hello ₹", "UCS-2", 7, 1, id="rupee-sign"),
    pytest.param("ç" * 70, "UCS-2", 70, 1, id="ucs-70-fills-one"),
    pytest.param("ç" * 71, "UCS-2", 71, 2, id="ucs-71-needs-two"),
    pytest.param(UCS * 134, "UCS-2", 134, 2, id="ucs-134-fills-two"),
    pytest.param(UCS * 135, "UCS-2", 135, 3, id="ucs-135-needs-three"),
    pytest.param(EMOJI * 35, "UCS-2", 70, 1, id="surrogates-70-units"),
    pytest.param(EMOJI * 36, "UCS-2", 72, 2, id="surrogates-72-units"),
    pytest.param(EMOJI * 34 + "a", "UCS-2", 69, 1, id="surrogates-and-ascii"),
    pytest.param(EMOJI * 33 + "aa", "UCS-2", 68, 1, id="surrogates-and-two-ascii"),
    # A surrogate pair that would straddle units 67/68 moves whole into the next segment.
    pytest.param(UCS * 66 + EMOJI + UCS * 66, "UCS-2", 134, 3, id="surrogate-straddles"),
    pytest.param(UCS * 65 + EMOJI + UCS * 67, "UCS-2", 134, 2, id="surrogate-ends-a-segment"),
    pytest.param(EMOJI * 67, "UCS-2", 134, 3, id="only-surrogates-straddle"),
]
