"""The dispatcher publishes what no task carries: lost publishes, parked deferrals and messages
held by a worker that died; a message it takes over asks the provider before sending again."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import recovery
from notifications.backends import locmem
from notifications.models import SMSLog
from notifications.redis_client import get_redis
from notifications.status import SMSStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.integration
TO = "+919812345610"
LONG_AGO = timedelta(hours=1)


def make_message(body: str = "stalled", **fields) -> SMSLog:
    """A pending message; published (when `published_at` is given) for its due time."""
    if fields.get("published_at"):
        fields.setdefault("next_attempt_at", min(fields["published_at"], timezone.now()))
    message = SMSLog.objects.create(to=TO, body=body, sender="+15005550006")
    SMSLog.objects.filter(id=message.id).update(**fields)
    return message


def lost_publish(**fields) -> SMSLog:
    """Recorded, but the broker never took its task (it was down at commit)."""
    return make_message(published_at=None, **fields)


def left_by_a_dead_worker(body: str = "stalled") -> SMSLog:
    """Held by a worker that died during its provider call: its lease ran out."""
    then = timezone.now() - LONG_AGO
    return make_message(
        body=body,
        attempts=1,
        published_at=then,
        lease_owner="gone-host:4242:0123456789abcdef",
        lease_expires_at=then,
        call_started_at=then,
    )


def accepted(message_id) -> SMSLog | None:
    message = SMSLog.objects.get(id=message_id)
    return message if message.provider_sid and message.status != SMSStatus.PENDING else None


def published(counts) -> int:
    return counts["published"]


def test_a_message_whose_publish_was_lost_is_delivered_after_the_next_run(celery_worker):
    message = lost_publish()
    assert published(recovery.dispatch_due_messages()) == 1
    wait_for(lambda: SMSLog.objects.get(id=message.id).status == SMSStatus.SENT, what="sent")
    assert SMSLog.objects.get(id=message.id).attempts == 1
    assert len(locmem.outbox) == 1


def test_a_message_held_by_a_dead_worker_that_reached_twilio_is_adopted_not_resent(
    celery_worker, sandbox
):
    message = left_by_a_dead_worker(body="got there before the worker died")
    sent = sandbox.client().messages.create(to=TO, from_="+15005550006", body=message.body)
    assert published(recovery.dispatch_due_messages()) == 1
    message = wait_for(lambda: accepted(message.id), what="adopted")
    assert message.provider_sid == sent.sid and message.attempts == 2
    assert len(sandbox.messages(to=TO)) == 1


def test_a_message_held_by_a_dead_worker_that_never_reached_twilio_is_sent_once(
    celery_worker, sandbox
):
    message = left_by_a_dead_worker(body="never got there")
    assert published(recovery.dispatch_due_messages()) == 1
    message = wait_for(lambda: accepted(message.id), what="accepted")
    [received] = sandbox.messages(to=TO)
    assert received["sid"] == message.provider_sid and message.attempts == 2


def test_while_twilio_cannot_answer_the_look_up_the_message_waits_for_a_retry(
    celery_worker, sandbox, settings
):
    settings.SMS_RETRY_BACKOFF = 30  # the retry is not what this test watches
    message = left_by_a_dead_worker()
    sandbox.set_faults(http_503={"next": 1, "scope": "messages", "methods": ["GET"]})
    recovery.dispatch_due_messages()
    message = wait_for(
        lambda: SMSLog.objects.filter(id=message.id, error_code="20503").first(), what="retrying"
    )
    assert message.status == SMSStatus.PENDING and message.lease_owner == ""
    assert message.next_attempt_at > timezone.now() and sandbox.messages(to=TO) == []


def test_with_a_backend_that_cannot_tell_it_fails_rather_than_risk_a_duplicate(celery_worker):
    message = left_by_a_dead_worker()
    recovery.dispatch_due_messages()
    message = wait_for(
        lambda: SMSLog.objects.filter(id=message.id, status=SMSStatus.FAILED).first(),
        what="failed",
    )
    assert message.error_code == "worker_lost" and locmem.outbox == []


def test_a_deferral_parked_in_the_database_is_published_once_due(celery_worker):
    now = timezone.now()
    due = make_message(published_at=now - LONG_AGO, next_attempt_at=now - timedelta(seconds=1))
    later = make_message(published_at=now - LONG_AGO, next_attempt_at=now + LONG_AGO)
    assert published(recovery.dispatch_due_messages()) == 1
    wait_for(lambda: SMSLog.objects.get(id=due.id).status == SMSStatus.SENT, what="sent")
    assert SMSLog.objects.get(id=later.id).status == SMSStatus.PENDING


def test_what_is_on_its_way_is_left_alone(transactional_db):
    now = timezone.now()
    make_message(published_at=now)  # published just now: in the queue
    make_message(published_at=now + timedelta(seconds=10), next_attempt_at=now)  # counted down
    make_message(lease_owner="alive:1:x", lease_expires_at=now + LONG_AGO)  # held
    make_message(published_at=None, status=SMSStatus.DELIVERED)  # done
    assert published(recovery.dispatch_due_messages()) == 0


def test_a_published_task_nobody_took_is_published_again_after_sms_stalled_after(
    transactional_db, settings
):
    settings.SMS_STALLED_AFTER = 60
    make_message(published_at=timezone.now() - timedelta(seconds=61))
    make_message(published_at=timezone.now() - timedelta(seconds=30))
    assert published(recovery.dispatch_due_messages()) == 1


def test_a_run_hands_out_at_most_sms_dispatch_batch_messages(transactional_db, settings):
    settings.SMS_DISPATCH_BATCH = 3
    for _ in range(5):
        lost_publish()
    assert published(recovery.dispatch_due_messages()) == 3
    assert published(recovery.dispatch_due_messages()) == 2
    assert SMSLog.objects.filter(published_at__isnull=True).count() == 0


def test_one_run_at_a_time(transactional_db):
    lost_publish()
    lock = get_redis().lock(recovery.DISPATCH_LOCK, timeout=30)
    assert lock.acquire(blocking=False)
    try:
        assert recovery.dispatch_due_messages() == {"busy": 1}
    finally:
        lock.release()
    assert published(recovery.dispatch_due_messages()) == 1


def test_concurrent_runs_publish_each_message_once(transactional_db):
    from django.db import connection

    for _ in range(20):
        lost_publish()
    barrier, results = threading.Barrier(4), []

    def run():
        barrier.wait()
        try:
            results.append(recovery.dispatch_due_messages())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("published", 0) for r in results) == 20


# --- A broker that restarted: what it held is published again at once --------------------


def queued_tasks(queue: str) -> list[list[str]]:
    """The message ids of each task waiting in a queue of the suite's broker (Redis lists)."""
    import base64
    import json

    tasks = []
    for raw in get_redis().lrange(queue, 0, -1):
        envelope = json.loads(raw)
        args = json.loads(base64.b64decode(envelope["body"]))[0]
        tasks.append(args[0])
    return tasks


def test_after_the_broker_restarts_what_it_held_is_published_again_at_once(transactional_db):
    from notifications.models import BrokerRun

    broker_run_id = get_redis().info("server")["run_id"]
    now = timezone.now()
    queued = make_message(published_at=now)  # in the queue, as far as the database knows
    counted_down = make_message(published_at=now + timedelta(seconds=10), next_attempt_at=now)
    held = make_message(published_at=now, lease_owner="alive:1:x", lease_expires_at=now + LONG_AGO)
    # The first dispatch only learns which broker it talks to.
    assert published(recovery.dispatch_due_messages()) == 0
    assert list(BrokerRun.objects.values_list("run_id", flat=True)) == [broker_run_id]
    assert published(recovery.dispatch_due_messages()) == 0
    # As if the last dispatch had seen an earlier start of the broker: this one is new.
    BrokerRun.objects.update(run_id="an-earlier-start", seen_at=now - LONG_AGO)
    counts = recovery.dispatch_due_messages()
    assert counts["unpublished_by_broker_restart"] == 2
    assert published(counts) == 2
    assert sorted(queued_tasks("sms")[0]) == sorted([str(queued.id), str(counted_down.id)])
    assert SMSLog.objects.get(id=held.id).published_at == now  # its run goes on
    assert BrokerRun.objects.count() == 2
    assert published(recovery.dispatch_due_messages()) == 0


def test_each_message_a_stopped_run_left_goes_in_a_task_of_its_own(transactional_db):
    left = [left_by_a_dead_worker(body=f"left {n}") for n in range(3)]
    lost = [lost_publish() for _ in range(2)]
    assert published(recovery.dispatch_due_messages()) == 5
    tasks = queued_tasks("sms")
    assert sorted(map(sorted, tasks)) == sorted(
        [sorted(str(m.id) for m in lost)] + [[str(m.id)] for m in left]
    )
