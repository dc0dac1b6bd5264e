"""Fault injection: error answers (rate and next-N, scoped), latency, accept-then-fail,
callback duplication / reordering / dropping, and per-sender throughput queueing."""

from __future__ import annotations

import time

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from .conftest import SENDER, SERVICE_SID, wait_until

NATURAL = ["sending", "sent", "delivered"]


def send(client, to="+15553330001", **kwargs):
    return client.messages.create(to=to, from_=SENDER, body="fault test", **kwargs)


@pytest.mark.parametrize(("fault", "status", "code"), [("http_500", 500, 20500),
                                                        ("http_503", 503, 20503)])  # fmt: skip
def test_next_n_error_answers(client, sandbox, fault, status, code):
    sandbox.set_faults(**{fault: {"next": 2}})
    for _ in range(2):
        with pytest.raises(TwilioRestException) as excinfo:
            send(client)
        assert (excinfo.value.status, excinfo.value.code) == (status, code)
    assert send(client).status == "queued"
    assert sandbox.stats()["faults_fired"] == {fault: 2}
    assert len(sandbox.messages()) == 1  # the failed requests created nothing
    assert sandbox.faults()[fault]["next"] == 0


def test_rate_with_seed_is_reproducible(api, sandbox):
    def pattern():
        sandbox.reset()
        sandbox.set_faults(http_500={"rate": 0.3, "seed": 1234})
        return [api.send(To="+15553330002")[0].status_code for _ in range(60)]

    first = pattern()
    assert set(first) == {201, 500}
    assert 6 <= first.count(500) <= 36
    assert pattern() == first


def test_scope_limits_faults_to_one_api(client, sandbox):
    sandbox.set_faults(http_503={"rate": 1.0, "scope": "verify"})
    assert send(client).sid  # messages unaffected
    with pytest.raises(TwilioRestException) as excinfo:
        client.verify.v2.services(SERVICE_SID).verifications.create(
            to="+15553330003", channel="sms"
        )
    assert excinfo.value.status == 503
    sandbox.set_faults(http_503=None, http_500={"next": 1, "scope": "messages"})
    assert (
        client.verify.v2.services(SERVICE_SID)
        .verifications.create(to="+15553330003", channel="sms")
        .status
        == "pending"
    )
    with pytest.raises(TwilioRestException):
        send(client)


def test_methods_filter(client, sandbox):
    sid = send(client).sid
    sandbox.set_faults(http_500={"rate": 1.0, "methods": ["POST"]})
    assert client.messages(sid).fetch().sid == sid
    with pytest.raises(TwilioRestException):
        send(client)


def test_429_with_retry_after(api, sandbox):
    sandbox.set_faults(http_429={"next": 1, "retry_after": 7})
    response, body = api.send(To="+15553330004")
    assert response.status_code == 429 and body["code"] == 20429
    assert response.headers["Retry-After"] == "7"
    assert api.send(To="+15553330004")[0].status_code == 201


def test_accept_then_500_creates_the_message(client, sandbox):
    sandbox.set_faults(accept_then_500={"next": 1})
    with pytest.raises(TwilioRestException) as excinfo:
        send(client, to="+15553330005")
    assert excinfo.value.status == 500
    [record] = sandbox.messages(to="+15553330005")
    assert sandbox.wait_for(record["sid"], "delivered")["status"] == "delivered"


def test_accept_then_drop_closes_the_connection(api, sandbox):
    sandbox.set_faults(accept_then_drop={"next": 1})
    with pytest.raises(requests.ConnectionError):
        api.send(To="+15553330006")
    [record] = sandbox.messages(to="+15553330006")
    sandbox.wait_for(record["sid"], "delivered")
    assert api.send(To="+15553330006")[0].status_code == 201  # next request is fine
    assert sandbox.stats()["faults_fired"]["accept_then_drop"] == 1
    assert sandbox.stats()["requests"]["messages.create"] == {"dropped": 1, "201": 1}


def test_accept_then_fail_on_verify(client, sandbox):
    sandbox.set_faults(accept_then_500={"next": 1, "scope": "verify"})
    with pytest.raises(TwilioRestException):
        client.verify.v2.services(SERVICE_SID).verifications.create(
            to="+15553330007", channel="sms"
        )
    [verification] = sandbox.verifications(to="+15553330007")
    assert verification["status"] == "pending"


def test_latency_and_jitter(api, sandbox):
    started = time.monotonic()
    api.send(To="+15553330008")
    baseline = time.monotonic() - started
    sandbox.set_faults(latency={"ms": 300})
    started = time.monotonic()
    api.send(To="+15553330008")
    assert time.monotonic() - started >= 0.3
    sandbox.set_faults(latency={"ms": 50, "jitter_ms": 100, "seed": 3})
    for _ in range(3):
        started = time.monotonic()
        api.send(To="+15553330008")
        assert 0.05 <= time.monotonic() - started < 0.15 + baseline + 0.5
    sandbox.set_faults(latency=None)
    started = time.monotonic()
    api.send(To="+15553330008")
    assert time.monotonic() - started < 0.3
    assert sandbox.stats()["requests"]["messages.create"] == {"201": 6}


def test_duplicated_callbacks_repeat_the_token(client, sandbox, receiver):
    sandbox.set_faults(callback_duplicate={"rate": 1.0})
    send(client, status_callback=receiver.url())
    received = receiver.wait(6)
    by_status = {}
    for request in received:
        by_status.setdefault(request["params"]["MessageStatus"], []).append(request)
    assert sorted(by_status) == sorted(NATURAL)
    for copies in by_status.values():
        assert len(copies) == 2
        assert len({c["headers"]["I-Twilio-Idempotency-Token"] for c in copies}) == 1
        assert copies[0]["params"] == copies[1]["params"]
    tokens = {c[0]["headers"]["I-Twilio-Idempotency-Token"] for c in by_status.values()}
    assert len(tokens) == 3
    assert sandbox.stats()["callbacks_duplicated"] == 3


def test_out_of_order_callbacks(client, sandbox, receiver):
    sandbox.set_faults(callback_out_of_order={"next": 1})
    shuffled = send(client, to="+15553330009", status_callback=receiver.url()).sid
    in_order = send(client, to="+15553330010", status_callback=receiver.url()).sid
    received = receiver.wait(6)
    got = {sid: [r["params"]["MessageStatus"] for r in received if r["params"]["MessageSid"] == sid]
           for sid in (shuffled, in_order)}  # fmt: skip
    assert sorted(got[shuffled]) == sorted(NATURAL) and got[shuffled] != NATURAL
    assert got[in_order] == NATURAL
    assert sandbox.wait_for(shuffled, "delivered")


def test_dropped_callbacks(client, sandbox, receiver):
    sandbox.set_faults(callback_drop={"next": 2})
    sid = send(client, status_callback=receiver.url()).sid
    sandbox.wait_for(sid, "delivered")
    wait_until(lambda: sandbox.stats()["callbacks_sent"] == 1)
    time.sleep(0.1)  # give a wrongly-sent callback the chance to show up
    assert [r["params"]["MessageStatus"] for r in receiver.received()] == ["delivered"]
    stats = sandbox.stats()
    assert stats["callbacks_dropped_by_fault"] == 2 and stats["callbacks_dropped"] == 2


def test_throughput_queues_messages_per_sender(client, sandbox):
    sandbox.set_faults(throughput={"senders": {SENDER: 10}})
    sids = [send(client, to=f"+1555333010{i}").sid for i in range(5)]
    other = client.messages.create(to="+15553330111", from_="+15005550010", body="x").sid
    records = [sandbox.wait_for(sid, "delivered") for sid in sids]
    planned = [r["send_at"] for r in records]
    gaps = [b - a for a, b in zip(planned, planned[1:], strict=False)]
    assert all(gap >= 0.1 - 0.002 for gap in gaps), gaps  # 10 MPS: a segment per 100 ms
    for record in records:  # and none left its queue before its slot
        sending = next(h["ts"] for h in record["history"] if h["status"] == "sending")
        assert sending >= record["send_at"] - 0.005
    assert sandbox.wait_for(other, "delivered")  # a different sender has its own queue


def test_throughput_defaults_by_sender_kind(client, sandbox):
    sandbox.set_faults(throughput=True)
    toll_free = "+18005550100"
    sids = [
        client.messages.create(to=f"+1555333020{i}", from_=toll_free, body="tf").sid
        for i in range(2)
    ]
    first = sandbox.wait_for(sids[0], "sending")
    second = sandbox.wait_for(sids[1], "sending")
    assert second["send_at"] - first["send_at"] >= 1 / 3 - 0.002  # 3 MPS
    sending = next(h["ts"] for h in second["history"] if h["status"] == "sending")
    assert sending >= second["send_at"] - 0.005  # it stayed queued until its slot
    assert sandbox.faults()["throughput"]["kinds"] == {
        "long_code": 1.0, "toll_free": 3.0, "short_code": 100.0, "alphanumeric": 1.0,
    }  # fmt: skip


def test_queue_overflow_fails_with_30001(client, sandbox, receiver):
    sandbox.set_faults(throughput={"senders": {SENDER: 2}, "queue_max_seconds": 0.6})
    sids = [send(client, to="+15553330301", status_callback=receiver.url()).sid for _ in range(3)]
    assert sandbox.wait_for(sids[0], "delivered")
    assert sandbox.wait_for(sids[1], "delivered")  # waited 0.5 s <= 0.6 s
    overflow = sandbox.wait_for(sids[2], "failed")  # would wait 1.0 s
    assert overflow["error_code"] == 30001


def test_invalid_faults_are_rejected(sandbox):
    for bad in ({"http_500": {"rate": 2}}, {"nope": {}}, {"http_500": {"scope": "x"}},
                {"throughput": {"senders": {SENDER: 0}}}):  # fmt: skip
        with pytest.raises(RuntimeError, match="400"):
            sandbox.set_faults(**bad)
    assert sandbox.faults()["throughput"] is None


def test_reset_clears_faults(client, sandbox):
    sandbox.set_faults(http_500={"rate": 1.0})
    sandbox.reset()
    assert send(client).sid
    assert sandbox.faults() == {"throughput": None, "seed": None}
