"""The worker side of delivery: claim messages with a lease, pace them, send, record outcomes.

One engine for single and bulk messages, run by the delivery tasks on a list of ids:

1. Claim: one conditional UPDATE takes the due, pending messages nobody holds (or whose
   holder's lease ran out) for this run: `lease_owner`, `lease_expires_at`. How the task got
   here (first publish, a deferral, the dispatcher, a redelivery) does not matter. The lease
   is short and renewed while the run lives (notifications.delivery.leases): a dead worker's
   messages are free within SMS_LEASE_SECONDS, and a run that cannot renew stops calling.
2. Pace: each message reserves a slot of its sender's shared rate (notifications.ratelimit,
   charged by segment) at most SMS_PACING_HORIZON seconds ahead. A message that would wait
   longer is released and deferred (`next_attempt_at`): no provider call, no attempt counted.
3. Send: `attempts` is counted and `call_started_at` set before the provider call, so that a
   worker dying during the call leaves a mark; a message with an earlier attempt first asks
   the provider whether that attempt got through (never a second send). The calls of a run go
   out concurrently from a thread pool, each at its slot.
4. Record: every outcome of the run in one transaction, forward-only. Transient failures are
   scheduled again (`next_attempt_at`, backoff) until SMS_RETRY_ATTEMPTS retries are used.

What is deferred is published again with a countdown when it is due within
SMS_DEFER_COUNTDOWN_MAX seconds (far below the broker's visibility timeout); later ones stay in
the database, where notifications.recovery's dispatcher publishes them when due.
"""

from notifications.delivery.engine import deliver_messages, finish_bulk_if_done

__all__ = ["deliver_messages", "finish_bulk_if_done"]
