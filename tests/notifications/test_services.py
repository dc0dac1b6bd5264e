"""send_sms: validation, recording, publishing after commit, idempotency (locmem backend)."""

import pytest
from django.db import transaction

from notifications import delivery, services, transitions
from notifications.exceptions import IdempotencyConflict, InvalidMessageBody, InvalidPhoneNumber
from notifications.models import SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db


def test_it_records_a_pending_message_with_normalized_number_and_segments(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.send_sms(to="98123 45610", body="ç" * 71)
    message.refresh_from_db()
    assert message.to == "+919812345610"
    assert message.status == SMSStatus.PENDING
    assert (message.segments, message.encoding) == (2, "UCS-2")
    assert message.attempts == 0 and message.lease_owner == "" and message.published_at
    assert len(callbacks) == 1  # the publish waits for the commit


def test_a_bad_number_is_refused_before_anything_is_written():
    with pytest.raises(InvalidPhoneNumber):
        services.send_sms(to="12345", body="hello")
    assert not SMSLog.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_an_empty_or_overlong_body_is_refused(body):
    with pytest.raises(InvalidMessageBody):
        services.send_sms(to="+919812345610", body=body)
    assert not SMSLog.objects.exists()


def test_the_same_idempotency_key_gives_the_same_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.send_sms(to="+919812345610", body="hi", idempotency_key="k-1")
        second = services.send_sms(to="9812345610", body="hi", idempotency_key="k-1")
    assert first.id == second.id
    assert SMSLog.objects.count() == 1
    assert len(callbacks) == 1


def test_reusing_a_key_for_another_message_is_a_conflict():
    services.send_sms(to="+919812345610", body="hi", idempotency_key="k-2")
    with pytest.raises(IdempotencyConflict):
        services.send_sms(to="+919812345610", body="something else", idempotency_key="k-2")


def test_with_sms_disabled_the_message_is_recorded_skipped_and_not_published(
    settings, django_capture_on_commit_callbacks, caplog
):
    settings.SMS_ENABLED = False
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.send_sms(to="+919812345610", body="hi")
    assert message.status == SMSStatus.SKIPPED
    assert "SMS_ENABLED" in message.error_message
    assert callbacks == []
    assert any("SMS_ENABLED is false" in r.getMessage() for r in caplog.records)
    assert all(
        "+919812345610" not in r.getMessage()
        for r in caplog.records
        if r.name.startswith("notifications")
    )


def test_a_rolled_back_caller_publishes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.send_sms(to="+919812345610", body="hi")
            raise RuntimeError("the caller fails after sending")
    assert callbacks == []
    assert not SMSLog.objects.exists()


def test_transitions_only_move_forward():
    message = services.send_sms(to="+919812345610", body="hi")
    assert transitions.transition(message.id, SMSStatus.SENT)
    assert transitions.transition(message.id, SMSStatus.DELIVERED)
    assert not transitions.transition(message.id, SMSStatus.SENT)
    assert not transitions.transition(message.id, SMSStatus.FAILED)
    message.refresh_from_db()
    assert message.status == SMSStatus.DELIVERED
    assert message.sent_at and message.delivered_at and not message.failed_at


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_make_one_message():
    import threading

    from django.db import connection

    barrier, ids, errors = threading.Barrier(8), [], []

    def send():
        barrier.wait()
        try:
            ids.append(services.send_sms(to="+919812345610", body="once", idempotency_key="race"))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({m.id for m in ids}) == 1 and SMSLog.objects.count() == 1


def test_a_number_that_opts_out_after_enqueue_is_skipped_at_delivery():
    from notifications import suppression
    from notifications.backends import locmem

    message = services.send_sms(to="+919812345610", body="hi")
    suppression.suppress("+919812345610", reason="STOP")
    assert delivery.deliver_messages(message_ids=[message.id]) == {"skipped": 1}
    message.refresh_from_db()
    assert message.status == SMSStatus.SKIPPED and "opted out" in message.error_message
    assert message.attempts == 0 and locmem.outbox == []


@pytest.mark.django_db(transaction=True)
def test_the_status_signal_carries_the_callers_reference_and_metadata():
    from notifications.signals import sms_status_changed

    received = []

    def listener(sender, message_id, status, reference, metadata, **kwargs):
        received.append((message_id, status, reference, metadata))

    sms_status_changed.connect(listener)
    try:
        message = services.send_sms(
            to="+919812345610",
            body="Selected!",
            reference="application:42:status:selected",
            metadata={"application": 42},
        )
        delivery.deliver_messages(message_ids=[message.id])
        bulk = services.send_bulk(
            recipients=["+919812345611"], body="New job", reference="job:7", metadata={"job": 7}
        )
        [bulk_message] = SMSLog.objects.filter(bulk=bulk)
        delivery.deliver_messages(message_ids=[bulk_message.id], bulk=True)
    finally:
        sms_status_changed.disconnect(listener)
    assert received == [
        (message.id, "sent", "application:42:status:selected", {"application": 42}),
        (bulk_message.id, "sent", "job:7", {"job": 7}),
    ]
