import pytest

from notifications.status import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    SMSStatus,
    can_transition,
    from_twilio,
    predecessors,
)

S = SMSStatus
ORDER = [S.PENDING, S.QUEUED, S.SENDING, S.SENT]


def test_every_status_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(SMSStatus)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
def test_terminal_statuses_stay_terminal(terminal):
    assert not any(can_transition(terminal, new) for new in SMSStatus)


def test_statuses_only_move_forward():
    for i, earlier in enumerate(ORDER):
        for later in ORDER[i + 1 :]:
            assert can_transition(earlier, later)
            assert not can_transition(later, earlier)
    assert not can_transition(S.SENT, S.SENT)


def test_a_late_sent_never_overwrites_delivered():
    assert not can_transition(S.DELIVERED, S.SENT)
    assert S.DELIVERED not in predecessors(S.SENT)


def test_predecessors_are_the_where_clause_of_a_transition():
    assert set(predecessors(S.DELIVERED)) == {S.PENDING, S.QUEUED, S.SENDING, S.SENT}
    assert predecessors(S.PENDING) == []
    assert set(predecessors(S.SKIPPED)) == {S.PENDING}


@pytest.mark.parametrize(
    ("twilio", "ours"),
    [
        ("accepted", S.QUEUED),
        ("queued", S.QUEUED),
        ("sending", S.SENDING),
        ("SENT", S.SENT),
        ("delivered", S.DELIVERED),
        ("undelivered", S.UNDELIVERED),
        ("failed", S.FAILED),
        ("canceled", S.CANCELED),
        ("receiving", None),
        ("", None),
        (None, None),
    ],
)
def test_twilio_statuses_map_onto_ours_with_unknown_as_none(twilio, ours):
    assert from_twilio(twilio) == ours
