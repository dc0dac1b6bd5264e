"""Inbound SMS: signed webhook with Twilio's parameters, TwiML replies, STOP/START opt-out."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from .conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER

PHONE = "+15554440001"


def test_inbound_is_delivered_signed_and_reply_recorded(sandbox, receiver):
    receiver.reply = "<?xml version='1.0'?><Response><Message>Thanks!</Message></Response>"
    url = receiver.url("/sms/inbound")
    sandbox.configure(inbound_url=url)
    result = sandbox.inbound(PHONE, "Hello service")
    [request] = receiver.wait(1)
    params = request["params"]
    assert RequestValidator(AUTH_TOKEN).validate(
        url, params, request["headers"]["X-Twilio-Signature"]
    )
    assert params["From"] == PHONE and params["To"] == "+15005550006"
    assert params["Body"] == "Hello service"
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == result["sid"]
    assert params["AccountSid"] == ACCOUNT_SID and params["ApiVersion"] == "2010-04-01"
    assert params["NumMedia"] == "0" and params["NumSegments"] == "1"
    assert "OptOutType" not in params
    assert result["direction"] == "inbound" and result["status"] == "received"
    assert result["webhook"]["status"] == 200
    assert "<Message>Thanks!</Message>" in result["webhook"]["twiml"]
    [reply] = sandbox.messages(to=PHONE)
    assert reply["body"] == "Thanks!" and reply["direction"] == "outbound-reply"
    assert reply["from"] == "+15005550006"
    inbox = sandbox.messages()
    assert [m["direction"] for m in inbox] == ["outbound-reply", "inbound"]
    assert inbox[1]["webhook"]["twiml"] == receiver.reply


def test_inbound_url_from_cli_and_custom_to(sandbox, receiver):
    sandbox.configure(inbound_url=receiver.url("/in"))
    sandbox.inbound(PHONE, "to another number", to="+15005550099")
    [request] = receiver.wait(1)
    assert request["params"]["To"] == "+15005550099"


def test_inbound_without_webhook_is_recorded(sandbox):
    result = sandbox.inbound(PHONE, "nobody listens")
    assert result["webhook"]["url"] is None
    assert sandbox.messages()[0]["body"] == "nobody listens"


def test_unreachable_inbound_webhook_is_recorded_not_fatal(sandbox, receiver):
    url = receiver.url("/in")
    receiver.close()
    sandbox.configure(inbound_url=url)
    result = sandbox.inbound(PHONE, "hello?")
    assert result["webhook"]["error"]
    assert sandbox.stats()["inbound_webhooks_failed"] == 1


def test_stop_then_start(client, sandbox, receiver):
    sandbox.configure(inbound_url=receiver.url("/in"))
    assert client.messages.create(to=PHONE, from_=SENDER, body="before").sid
    sandbox.inbound(PHONE, "  stop ")
    assert receiver.wait(1)[0]["params"]["OptOutType"] == "STOP"
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages.create(to=PHONE, from_=SENDER, body="after stop")
    assert (excinfo.value.code, excinfo.value.status) == (21610, 400)
    assert sandbox.stats()["opted_out"] == [PHONE]
    sandbox.inbound(PHONE, "START")
    assert receiver.wait(2)[1]["params"]["OptOutType"] == "START"
    assert client.messages.create(to=PHONE, from_=SENDER, body="welcome back").sid
    sandbox.inbound(PHONE, "help")
    assert receiver.wait(3)[2]["params"]["OptOutType"] == "HELP"


@pytest.mark.parametrize(
    "keyword", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
)
def test_every_opt_out_keyword(client, sandbox, keyword):
    sandbox.inbound(PHONE, keyword.lower())
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages.create(to=PHONE, from_=SENDER, body="blocked")
    assert excinfo.value.code == 21610


@pytest.mark.parametrize("keyword", ["START", "UNSTOP", "YES"])
def test_every_opt_in_keyword(client, sandbox, keyword):
    sandbox.inbound(PHONE, "STOP")
    sandbox.inbound(PHONE, keyword)
    assert client.messages.create(to=PHONE, from_=SENDER, body="ok").sid


def test_keyword_must_be_the_whole_message(client, sandbox):
    sandbox.inbound(PHONE, "please stop calling me at work")
    assert client.messages.create(to=PHONE, from_=SENDER, body="still allowed").sid


def test_no_twiml_reply_to_opted_out_phone(sandbox, receiver):
    receiver.reply = "<Response><Message>You are unsubscribed</Message></Response>"
    sandbox.configure(inbound_url=receiver.url("/in"))
    result = sandbox.inbound(PHONE, "STOP")
    assert result["webhook"]["replies"] == [{"body": "You are unsubscribed", "error_code": 21610}]
    assert sandbox.messages(to=PHONE) == []


def test_inbound_rejects_bad_sender(sandbox):
    with pytest.raises(RuntimeError, match="400"):
        sandbox.inbound("not-a-number", "hi")
