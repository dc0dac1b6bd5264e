"""Verify v2: codes in the inbox, re-sends, check limits, approval, expiry, errors."""

from __future__ import annotations

import re

import pytest
from twilio.base.exceptions import TwilioRestException

from .conftest import ACCOUNT_SID, SERVICE_SID

PHONE = "+15556660001"


@pytest.fixture
def service(client):
    return client.verify.v2.services(SERVICE_SID)


def start(service, to=PHONE):
    return service.verifications.create(to=to, channel="sms")


def code_in_inbox(sandbox, to=PHONE):
    [message] = sandbox.messages(to=to)[:1]
    match = re.fullmatch(r"Your verification code is: (\d+)", message["body"])
    assert match, message["body"]
    return match.group(1)


def test_start_and_approve(service, sandbox):
    verification = start(service)
    assert re.fullmatch(r"VE[0-9a-f]{32}", verification.sid)
    assert verification.status == "pending" and verification.valid is False
    assert verification.service_sid == SERVICE_SID and verification.account_sid == ACCOUNT_SID
    assert verification.channel == "sms" and len(verification.send_code_attempts) == 1
    assert verification.lookup["carrier"]["type"] == "mobile"
    assert verification.url.endswith(f"/Services/{SERVICE_SID}/Verifications/{verification.sid}")
    code = code_in_inbox(sandbox)
    assert len(code) == 6
    message = sandbox.messages(to=PHONE)[0]
    assert message["direction"] == "outbound-api" and message["source"] == "verify"
    assert sandbox.wait_for(message["sid"], "delivered")
    check = service.verification_checks.create(to=PHONE, code=code)
    assert check.status == "approved" and check.valid is True
    assert check.sid == verification.sid
    assert service.verifications(verification.sid).fetch().status == "approved"


def test_wrong_code_stays_pending(service, sandbox):
    start(service)
    code = code_in_inbox(sandbox)
    wrong = "000000" if code != "000000" else "111111"
    check = service.verification_checks.create(to=PHONE, code=wrong)
    assert check.status == "pending" and check.valid is False
    assert service.verification_checks.create(to=PHONE, code=code).status == "approved"


def test_same_code_is_resent_while_pending(service, sandbox):
    first = start(service)
    second = start(service)
    assert second.sid == first.sid
    assert len(second.send_code_attempts) == 2
    bodies = [m["body"] for m in sandbox.messages(to=PHONE)]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


def test_sixth_send_within_ten_minutes_is_60203(service):
    for _ in range(5):
        start(service)
    with pytest.raises(TwilioRestException) as excinfo:
        start(service)
    assert (excinfo.value.code, excinfo.value.status) == (60203, 429)


def test_five_wrong_checks_then_60202(service, sandbox):
    start(service)
    code = code_in_inbox(sandbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert service.verification_checks.create(to=PHONE, code=wrong).status == "pending"
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code=code)
    assert (excinfo.value.code, excinfo.value.status) == (60202, 429)


def test_check_after_approval_is_20404(service, sandbox):
    start(service)
    code = code_in_inbox(sandbox)
    service.verification_checks.create(to=PHONE, code=code)
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code=code)
    assert (excinfo.value.code, excinfo.value.status) == (20404, 404)


def test_expired_verification_is_20404(service, sandbox):
    verification = start(service)
    code = code_in_inbox(sandbox)
    assert sandbox.expire_verifications(to=PHONE) == [verification.sid]
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code=code)
    assert excinfo.value.code == 20404
    assert service.verifications(verification.sid).fetch().status == "expired"
    # A new verification starts after expiry, with a fresh SID.
    assert start(service).sid != verification.sid


def test_clock_advance_expires_after_ten_minutes(service, sandbox):
    start(service)
    code = code_in_inbox(sandbox)
    sandbox.advance_clock(9 * 60)
    assert start(service).send_code_attempts  # still pending at 9 minutes: a re-send
    sandbox.advance_clock(61)
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code=code)
    assert excinfo.value.code == 20404


def test_check_by_verification_sid(service, sandbox):
    verification = start(service)
    code = code_in_inbox(sandbox)
    check = service.verification_checks.create(verification_sid=verification.sid, code=code)
    assert check.status == "approved"


def test_cancel_and_approve_by_update(service, sandbox):
    verification = start(service)
    canceled = service.verifications(verification.sid).update(status="canceled")
    assert canceled.status == "canceled"
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code="123456")
    assert excinfo.value.code == 20404
    other = start(service, to="+15556660002")
    assert service.verifications(other.sid).update(status="approved").status == "approved"


@pytest.mark.parametrize("to", ["5556660001", "+1", "hello"])
def test_invalid_to_is_60200(service, to):
    with pytest.raises(TwilioRestException) as excinfo:
        start(service, to=to)
    assert (excinfo.value.code, excinfo.value.status) == (60200, 400)


def test_invalid_channel_and_code(service, api):
    with pytest.raises(TwilioRestException) as excinfo:
        service.verifications.create(to=PHONE, channel="carrier-pigeon")
    assert excinfo.value.code == 60200
    start(service)
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to=PHONE, code="1")
    assert excinfo.value.code == 60200
    response, body = api.call("POST", f"/v2/Services/{SERVICE_SID}/VerificationCheck",
                              {"Code": "123456"})  # fmt: skip
    assert response.status_code == 400 and body["code"] == 60221


def test_unknown_or_malformed_resources_are_20404(client, service, api):
    with pytest.raises(TwilioRestException) as excinfo:
        service.verifications("VE" + "0" * 32).fetch()
    assert excinfo.value.code == 20404
    response, body = api.call(
        "POST", "/v2/Services/VA123/Verifications", {"To": PHONE, "Channel": "sms"}
    )
    assert response.status_code == 404 and body["code"] == 20404
    with pytest.raises(TwilioRestException) as excinfo:
        service.verification_checks.create(to="+15556669999", code="123456")
    assert excinfo.value.code == 20404


def test_code_length_per_service_and_default(client, sandbox):
    other = "VA" + "1" * 32
    sandbox.configure(verify_services={other: 8}, verify_code_length=4)
    client.verify.v2.services(other).verifications.create(to=PHONE, channel="sms")
    assert len(code_in_inbox(sandbox)) == 8
    start(client.verify.v2.services(SERVICE_SID), to="+15556660003")
    assert len(code_in_inbox(sandbox, to="+15556660003")) == 4


def test_services_are_independent(client, sandbox):
    one, two = client.verify.v2.services(SERVICE_SID), client.verify.v2.services("VA" + "2" * 32)
    a, b = start(one), start(two)
    assert a.sid != b.sid
    codes = {v["service_sid"]: v["code"] for v in sandbox.verifications(to=PHONE)}
    assert two.verification_checks.create(to=PHONE, code=codes[b.service_sid]).valid is True
    assert one.verifications(a.sid).fetch().status == "pending"


def test_verify_requires_auth(api):
    response, body = api.call(
        "POST", f"/v2/Services/{SERVICE_SID}/Verifications", {"To": PHONE, "Channel": "sms"},
        auth=(ACCOUNT_SID, "wrong"),
    )  # fmt: skip
    assert response.status_code == 401 and body["code"] == 20003
