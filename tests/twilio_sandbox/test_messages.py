"""Messages API through the twilio library and raw HTTP: shapes, validation, paging, cancel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from twilio_sandbox.testing import SandboxHttpClient

from .conftest import ACCOUNT_SID, MG_SID, SENDER

SID = re.compile(r"^SM[0-9a-f]{32}$")
RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)


def test_create_returns_twilio_shape(api):
    response, body = api.send(To="+15551230001", Body="Hello there")
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert SID.match(body["sid"])
    assert body["status"] == "queued"
    assert body["direction"] == "outbound-api"
    assert body["from"] == SENDER and body["to"] == "+15551230001"
    assert body["num_segments"] == "1" and body["num_media"] == "0"
    assert body["api_version"] == "2010-04-01"
    assert body["account_sid"] == ACCOUNT_SID
    assert RFC2822.match(body["date_created"]) and body["date_sent"] is None
    assert body["price"] is None and body["error_code"] is None
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{body['sid']}.json"
    assert body["subresource_uris"]["media"].endswith(f"/Messages/{body['sid']}/Media.json")


def test_library_create_fetch_list(client, sandbox):
    created = client.messages.create(to="+15551230002", from_=SENDER, body="Hi from the lib")
    assert created.status == "queued"
    assert isinstance(created.date_created, dt.datetime)
    sandbox.wait_for(created.sid, "delivered")
    fetched = client.messages(created.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.date_sent is not None and fetched.price is not None
    assert fetched.price_unit == "USD"
    listed = client.messages.list(to="+15551230002")
    assert [m.sid for m in listed] == [created.sid]


def test_list_paging_newest_first_and_filters(client, sandbox):
    sids = [
        client.messages.create(to="+15551230003", from_=SENDER, body=f"n{i}").sid for i in range(7)
    ]
    client.messages.create(to="+15551239999", from_=SENDER, body="other")
    client.messages.create(to="+15551230003", from_="+15005550010", body="other sender")
    page = client.messages.page(to="+15551230003", from_=SENDER, page_size=3)
    assert [m.sid for m in page] == sids[::-1][:3]
    assert page.next_page_url is not None
    second = page.next_page()
    assert [m.sid for m in second] == sids[::-1][3:6]
    everything = client.messages.list(to="+15551230003", from_=SENDER, page_size=3)
    assert [m.sid for m in everything] == sids[::-1]
    assert len(client.messages.list(from_="+15005550010")) == 1
    assert len(client.messages.list(limit=4, page_size=2)) == 4


def test_list_date_sent_filters(client, sandbox):
    sid = client.messages.create(to="+15551230004", from_=SENDER, body="dated").sid
    sandbox.wait_for(sid, "delivered")
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)

    def sids(**filters):
        return [m.sid for m in client.messages.list(to="+15551230004", **filters)]

    assert sids(date_sent=dt.datetime.combine(today, dt.time(), dt.UTC)) == [sid]
    assert sids(date_sent_after=dt.datetime.combine(yesterday, dt.time(), dt.UTC)) == [sid]
    assert sids(date_sent_before=dt.datetime.combine(tomorrow, dt.time(), dt.UTC)) == [sid]
    assert sids(date_sent_before=dt.datetime.combine(yesterday, dt.time(), dt.UTC)) == []
    assert sids(date_sent_after=dt.datetime.combine(tomorrow, dt.time(), dt.UTC)) == []


def test_list_envelope(api):
    for i in range(3):
        api.send(To="+15551230005", Body=f"e{i}")
    response, page = api.call("GET", "Messages.json?To=%2B15551230005&PageSize=2")
    assert response.status_code == 200
    assert len(page["messages"]) == 2 and page["page"] == 0 and page["page_size"] == 2
    assert page["start"] == 0 and page["end"] == 1 and page["previous_page_uri"] is None
    assert "Page=1" in page["next_page_uri"] and "PageToken=PA" in page["next_page_uri"]
    _, nxt = api.call("GET", page["next_page_uri"])
    assert len(nxt["messages"]) == 1 and nxt["next_page_uri"] is None
    assert nxt["previous_page_uri"] is not None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"To": None}, 21604),
        ({"To": "+15551230006", "From": None}, 21603),
        ({"To": "+15551230006", "Body": None}, 21602),
        ({"To": "+15551230006", "Body": ""}, 21602),
        ({"To": "+15551230006", "Body": "x" * 1601}, 21617),
        ({"To": "555-not-a-number"}, 21211),
        ({"To": "+1"}, 21211),
        ({"To": "+15551230006", "From": "bad sender!"}, 21212),
        ({"To": "+15551230006", "From": None, "MessagingServiceSid": "MG123"}, 21701),
        ({"To": "+15551230006", "StatusCallback": "not a url"}, 21609),
        ({"To": SENDER}, 21266),
    ],
)
def test_validation_errors(api, fields, code):
    response, body = api.send(**fields)
    assert response.status_code == 400
    assert body["code"] == code
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_body_of_1600_chars_is_accepted(api):
    response, body = api.send(To="+15551230007", Body="x" * 1600)
    assert response.status_code == 201
    assert body["num_segments"] == "11"  # ceil(1600 / 153)


def test_media_only_message_needs_no_body(api):
    response, body = api.call(
        "POST", "Messages.json",
        {"To": "+15551230008", "From": SENDER, "MediaUrl": "https://example.com/a.jpg"},
    )  # fmt: skip
    assert response.status_code == 201
    assert body["sid"].startswith("MM") and body["num_media"] == "1"


# Twilio's test-credential magic numbers: https://www.twilio.com/docs/iam/test-credentials
@pytest.mark.parametrize(
    ("to", "sender", "code"),
    [
        ("+15005550001", SENDER, 21211),
        ("+15005550002", SENDER, 21612),
        ("+15005550003", SENDER, 21408),
        ("+15005550004", SENDER, 21610),
        ("+15005550009", SENDER, 21614),
        ("+15551230009", "+15005550001", 21212),
        ("+15551230009", "+15005550007", 21606),
        ("+15551230009", "+15005550008", 21611),
    ],
)
def test_magic_numbers(client, to, sender, code):
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages.create(to=to, from_=sender, body="magic")
    assert excinfo.value.code == code
    assert excinfo.value.status == 400


def test_magic_valid_sender_and_other_recipients_work(client):
    assert client.messages.create(to="+15005550006", from_="+15005550010", body="ok").sid
    assert client.messages.create(to="+14155550100", from_="+15005550006", body="ok").sid


def test_wrong_credentials_answer_20003(sandbox, api):
    form = {"To": "+15551230010", "From": SENDER, "Body": "x"}
    response, body = api.call("POST", "Messages.json", form, auth=(ACCOUNT_SID, "wrong-token"))
    assert response.status_code == 401 and body["code"] == 20003
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    response, body = api.call("GET", "Messages.json", auth=None)
    assert response.status_code == 401 and body["code"] == 20003
    other = "AC" + "0" * 32
    response, body = api.call(
        "GET", f"/2010-04-01/Accounts/{other}/Messages.json", auth=(other, "x")
    )
    assert response.status_code == 401 and body["code"] == 20003
    assert sandbox.messages() == []


def test_library_raises_on_bad_credentials(sandbox):
    from twilio.rest import Client

    from twilio_sandbox.testing import SandboxHttpClient

    bad = Client(ACCOUNT_SID, "nope", http_client=SandboxHttpClient(sandbox.base_url))
    with pytest.raises(TwilioRestException) as excinfo:
        bad.messages.create(to="+15551230011", from_=SENDER, body="x")
    assert (excinfo.value.status, excinfo.value.code) == (401, 20003)


def test_unknown_message_is_20404(client, api):
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages("SM" + "0" * 32).fetch()
    assert (excinfo.value.status, excinfo.value.code) == (404, 20404)
    response, body = api.call("GET", "/2010-04-01/Nothing/Here.json")
    assert response.status_code == 404 and body["code"] == 20404


def test_cancel_scheduled_message_and_refuse_cancel_after_sending(client, sandbox):
    send_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    scheduled = client.messages.create(
        to="+15551230012", messaging_service_sid=MG_SID, body="later",
        schedule_type="fixed", send_at=send_at,
    )  # fmt: skip
    assert scheduled.status == "scheduled"
    canceled = client.messages(scheduled.sid).update(status="canceled")
    assert canceled.status == "canceled"
    sent = client.messages.create(to="+15551230012", from_=SENDER, body="now")
    sandbox.wait_for(sent.sid, "delivered")
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages(sent.sid).update(status="canceled")
    assert excinfo.value.code == 30409


def test_redact_and_delete(client, sandbox):
    sid = client.messages.create(to="+15551230013", from_=SENDER, body="secret").sid
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages(sid).delete()  # still in flight
    assert excinfo.value.code == 20009
    sandbox.wait_for(sid, "delivered")
    assert client.messages(sid).update(body="").body == ""
    assert client.messages(sid).delete() is True
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages(sid).fetch()
    assert excinfo.value.code == 20404


def test_messaging_service_starts_accepted(client, sandbox):
    message = client.messages.create(to="+15551230014", messaging_service_sid=MG_SID, body="svc")
    assert message.status == "accepted"
    assert message.from_ is None and message.num_segments == "0"
    assert message.messaging_service_sid == MG_SID
    record = sandbox.wait_for(message.sid, "delivered")
    assert record["from"] == "+15005550006" and record["num_segments"] == "1"
    assert [h["status"] for h in record["history"]] == [
        "accepted", "queued", "sending", "sent", "delivered",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("€" * 80, "1"),  # extension-table characters take two septets
        ("€" * 81, "2"),
        ("Привет" * 11 + "Прив", "1"),  # 70 UCS-2 characters
        ("😀" * 36, "2"),  # 72 UTF-16 code units
    ],
)
def test_num_segments_in_api(api, body, segments):
    _, message = api.send(To="+15551230015", Body=body)
    assert message["num_segments"] == segments


def test_fetching_the_account_proves_the_credentials(client, sandbox):
    account = client.api.v2010.accounts(ACCOUNT_SID).fetch()
    assert (account.sid, account.status) == (ACCOUNT_SID, "active")
    wrong = Client(ACCOUNT_SID, "wrong-token", http_client=SandboxHttpClient(sandbox.base_url))
    with pytest.raises(TwilioRestException) as excinfo:
        wrong.api.v2010.accounts(ACCOUNT_SID).fetch()
    assert (excinfo.value.status, excinfo.value.code) == (401, 20003)
