import pytest

from notifications.segments import SegmentInfo, count_segments
from tests.segment_cases import CASES


@pytest.mark.parametrize(("body", "encoding", "units", "segments"), CASES)
def test_it_counts_segments_as_carriers_bill_them(body, encoding, units, segments):
    assert count_segments(body) == SegmentInfo(encoding, units, segments)
