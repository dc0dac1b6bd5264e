"""Lifecycle and status callbacks: order, parameters, signatures, failures, retries."""

from __future__ import annotations

import time

from twilio.request_validator import RequestValidator

from .conftest import ACCOUNT_SID, AUTH_TOKEN, MG_SID, SENDER, wait_until

VALIDATOR = RequestValidator(AUTH_TOKEN)


def statuses(requests):
    return [r["params"]["MessageStatus"] for r in requests]


def test_lifecycle_reaches_delivered_with_signed_callbacks(client, sandbox, receiver):
    url = receiver.url("/status?tenant=42")
    message = client.messages.create(
        to="+15552220001", from_=SENDER, body="track me", status_callback=url
    )
    received = receiver.wait(3)
    # No callback for the initial status (queued); then each change, in order.
    assert statuses(received) == ["sending", "sent", "delivered"]
    for request in received:
        params = request["params"]
        assert request["url"] == url
        assert VALIDATOR.validate(url, params, request["headers"]["X-Twilio-Signature"])
        assert not VALIDATOR.validate(
            url, {**params, "To": "+1"}, request["headers"]["X-Twilio-Signature"]
        )
        assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert params["MessageStatus"] == params["SmsStatus"]
        assert params["AccountSid"] == ACCOUNT_SID
        assert params["From"] == SENDER and params["To"] == "+15552220001"
        assert params["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in params
    assert "RawDlrDoneDate" in received[-1]["params"]
    tokens = [r["headers"]["I-Twilio-Idempotency-Token"] for r in received]
    assert len(set(tokens)) == 3
    fetched = client.messages(message.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.date_sent is not None and fetched.price.startswith("-")
    stats = sandbox.stats()
    assert stats["callbacks_sent"] == 3 and stats["callbacks_failed"] == 0


def test_fetch_reflects_current_status(client, sandbox):
    sandbox.configure(step_delay=1.0)  # each status lasts long enough to be seen on a busy machine
    sid = client.messages.create(to="+15552220002", from_=SENDER, body="slow").sid
    assert client.messages(sid).fetch().status == "queued"
    assert client.messages(sid).fetch().date_sent is None
    wait_until(lambda: client.messages(sid).fetch().status == "sending", timeout=5)
    wait_until(lambda: client.messages(sid).fetch().status == "sent", timeout=5)
    sent = client.messages(sid).fetch()
    assert sent.date_sent is not None and sent.price is not None


def test_messaging_service_callbacks_include_service_sid(client, receiver):
    client.messages.create(
        to="+15552220003", messaging_service_sid=MG_SID, body="svc",
        status_callback=receiver.url(),
    )  # fmt: skip
    received = receiver.wait(4)
    assert statuses(received) == ["queued", "sending", "sent", "delivered"]
    assert all(r["params"]["MessagingServiceSid"] == MG_SID for r in received)
    assert all(r["params"]["From"] == "+15005550006" for r in received)


def test_configured_failure_numbers(client, sandbox, receiver):
    sandbox.configure(
        fail_numbers={
            "+15552220030": 30003,
            "+15552220031": {"error_code": 30001, "status": "failed"},
            "+15552220032": {"error_code": 30007},
            "+15552220033": 30006,
        }
    )
    sids = {
        to: client.messages.create(
            to=to, from_=SENDER, body="doomed", status_callback=receiver.url()
        ).sid
        for to in ("+15552220030", "+15552220031", "+15552220032", "+15552220033")
    }
    undelivered = sandbox.wait_for(sids["+15552220030"], ("undelivered", "failed"))
    assert undelivered["status"] == "undelivered" and undelivered["error_code"] == 30003
    failed = sandbox.wait_for(sids["+15552220031"], ("undelivered", "failed"))
    assert failed["status"] == "failed" and failed["error_code"] == 30001
    assert [h["status"] for h in failed["history"]] == ["queued", "failed"]
    assert sandbox.wait_for(sids["+15552220032"], "undelivered")["error_code"] == 30007
    assert sandbox.wait_for(sids["+15552220033"], "undelivered")["error_code"] == 30006
    fetched = client.messages(sids["+15552220030"]).fetch()
    assert fetched.status == "undelivered" and fetched.error_code == 30003
    assert fetched.error_message
    final = receiver.wait(1, lambda r: r["params"]["To"] == "+15552220030"
                          and r["params"]["MessageStatus"] == "undelivered")  # fmt: skip
    assert final[0]["params"]["ErrorCode"] == "30003"
    final = receiver.wait(1, lambda r: r["params"]["To"] == "+15552220031")
    assert statuses(final) == ["failed"] and final[0]["params"]["ErrorCode"] == "30001"


def test_a_number_can_fail_in_the_create_response_itself(client, api, sandbox, receiver):
    """Twilio may answer a create with a final status and its error code; no callback follows."""
    sandbox.configure(
        fail_numbers={
            "+15552220040": {"error_code": 30007, "status": "failed", "on_create": True},
            "+15552220041": {"error_code": 21610, "on_create": True},
            "+15552220042": {"error_code": 30003, "status": "undelivered", "on_create": True},
        }
    )
    response, body = api.send(To="+15552220040", StatusCallback=receiver.url())  # validated
    assert response.status_code == 201
    assert (body["status"], body["error_code"], body["error_message"]) == (
        "failed", 30007, "Message filtered",
    )  # fmt: skip
    opted_out = client.messages.create(
        to="+15552220041", messaging_service_sid=MG_SID, body="x", status_callback=receiver.url()
    )
    assert (opted_out.status, opted_out.error_code) == ("failed", 21610)
    assert opted_out.error_message == "Attempt to send to unsubscribed recipient"
    undelivered = client.messages.create(to="+15552220042", from_=SENDER, body="x")
    assert (undelivered.status, undelivered.error_code) == ("undelivered", 30003)
    time.sleep(10 * 0.02)  # ten lifecycle steps: nothing may follow a final status
    record = sandbox.message(body["sid"])
    assert [h["status"] for h in record["history"]] == ["failed"]
    assert client.messages(opted_out.sid).fetch().status == "failed"
    assert receiver.received() == [] and sandbox.stats()["callbacks_sent"] == 0


def test_failing_callback_is_retried_with_the_same_token(client, sandbox, receiver):
    sandbox.configure(callback_backoff=0.01)
    receiver.fail_status = {"sending": 2}
    client.messages.create(
        to="+15552220004", from_=SENDER, body="retry", status_callback=receiver.url()
    )
    received = receiver.wait(5)
    wait_until(lambda: sandbox.stats()["callbacks_sent"] == 3)
    sending = [r for r in received if r["params"]["MessageStatus"] == "sending"]
    assert [r["answered"] for r in sending] == [500, 500, 200]
    assert len({r["headers"]["I-Twilio-Idempotency-Token"] for r in sending}) == 1
    stats = sandbox.stats()
    assert stats["callbacks_failed"] == 2 and stats["callbacks_retried"] == 2
    assert stats["callbacks_given_up"] == 0


def test_unreachable_callback_is_dropped_and_counted(client, sandbox, receiver):
    sandbox.configure(callback_backoff=0.01, callback_retries=2)
    dead = receiver.url()
    receiver.close()  # nothing listens there any more: connection refused
    sid = client.messages.create(
        to="+15552220005", from_=SENDER, body="nobody home", status_callback=dead
    ).sid
    assert sandbox.wait_for(sid, "delivered")["status"] == "delivered"
    stats = wait_until(lambda: (s := sandbox.stats())["callbacks_given_up"] == 3 and s)
    assert stats["callbacks_failed"] == 9  # 3 events x (1 try + 2 retries)
    assert stats["callbacks_dropped"] == 3 and stats["callbacks_sent"] == 0
    # The server is unharmed.
    assert client.messages.create(to="+15552220005", from_=SENDER, body="still here").sid


def test_non_2xx_callback_counts_as_failure(client, sandbox, receiver):
    sandbox.configure(callback_backoff=0.01, callback_retries=1)
    receiver.status = 404
    client.messages.create(
        to="+15552220006", from_=SENDER, body="404", status_callback=receiver.url()
    )
    receiver.wait(6)
    stats = wait_until(lambda: (s := sandbox.stats())["callbacks_given_up"] == 3 and s)
    assert stats["callbacks_sent"] == 0
