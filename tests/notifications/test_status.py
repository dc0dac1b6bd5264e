import logging

import pytest

from notifications import status as status_module
from notifications.status import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    TWILIO_STATUS_MAP,
    TWILIO_UNKNOWN,
    SMSStatus,
    can_transition,
    from_twilio,
    predecessors,
)
from tests.twilio_sandbox import openapi

CONTRACT_STATUSES = [
    "pending", "queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled",
    "skipped",
]  # fmt: skip

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


# What each value of Twilio's message_enum_status means for an outbound message.
EXPECTED = {
    "accepted": S.QUEUED,
    "scheduled": S.QUEUED,
    "queued": S.QUEUED,
    "sending": S.SENDING,
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,
    "partially_delivered": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "failed": S.FAILED,
    "canceled": S.CANCELED,
    "receiving": TWILIO_UNKNOWN,  # inbound-only: no news about an outbound message
    "received": TWILIO_UNKNOWN,
}


@pytest.mark.parametrize("twilio", openapi.message_statuses())
def test_every_status_in_twilios_spec_is_mapped_explicitly(twilio):
    assert twilio in TWILIO_STATUS_MAP
    assert from_twilio(twilio) == from_twilio(twilio.upper()) == EXPECTED[twilio]


def test_an_unknown_status_lands_where_the_reconciliation_revisits_it():
    assert TWILIO_UNKNOWN == S.QUEUED and TWILIO_UNKNOWN not in TERMINAL_STATUSES
    assert TWILIO_UNKNOWN.value in CONTRACT_STATUSES


def test_the_contracts_status_list_is_unchanged():
    assert [status.value for status in SMSStatus] == CONTRACT_STATUSES


@pytest.mark.parametrize("raw", ["teleported", "", None, "received"])
def test_an_unexpected_status_maps_to_unknown_and_is_logged_once(raw, caplog):
    # Values logged by an earlier test of this process are not logged again.
    status_module._reported.discard((raw or "").lower())
    with caplog.at_level(logging.WARNING, logger="notifications.status"):
        assert from_twilio(raw) == TWILIO_UNKNOWN
        assert from_twilio(raw) == TWILIO_UNKNOWN
    [record] = caplog.records
    assert record.levelno == logging.WARNING and repr((raw or "").lower()) in record.getMessage()


def test_a_known_status_is_not_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="notifications.status"):
        from_twilio("delivered")
    assert caplog.records == []
