"""Leases on claimed messages, kept alive while the run that holds them lives.

A run claims its messages for SMS_LEASE_SECONDS, and a thread of its process renews that
lease every SMS_LEASE_RENEW_INTERVAL while the run goes on. A worker that dies stops renewing,
so its messages are free one lease after its last renewal, and the dispatcher hands them to a
live worker, which asks the provider what the dead one had sent before sending anything.

A run whose lease can no longer be renewed (the database is unreachable) may be taken over, so
it fences itself: a provider call starts only when it can end, timeouts included, before the
lease could have run out (`Lease.may_call`). The run then never overlaps its successor.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from notifications import conf
from notifications.models import SMSLog

logger = logging.getLogger(__name__)

# Added to a call's own timeouts: the hosts' clocks (NTP keeps them within milliseconds) and
# the time between the provider's answer and our reading it.
CALL_MARGIN = 1.0  # seconds


def lease_seconds() -> float:
    return float(conf.get("SMS_LEASE_SECONDS"))


def call_budget() -> float:
    """The longest a provider call may take: its connect and read timeouts, and a margin."""
    return (
        float(conf.get("TWILIO_CONNECT_TIMEOUT"))
        + float(conf.get("TWILIO_READ_TIMEOUT"))
        + CALL_MARGIN
    )


@dataclass
class Lease:
    """What a run holds: its owner string (in `lease_owner`) and, on this process's monotonic
    clock, until when the lease surely holds (counted from before the write that set it)."""

    owner: str
    valid_until: float
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def may_call(self) -> bool:
        """Whether a provider call started now ends before the lease could run out."""
        with self.lock:
            return time.monotonic() + call_budget() < self.valid_until

    def extend(self, written_at: float) -> None:
        with self.lock:
            self.valid_until = max(self.valid_until, written_at + lease_seconds())


class LeaseKeeper:
    """This process's renewer: one thread, one UPDATE per interval for every run it holds."""

    def __init__(self) -> None:
        self.held: dict[str, Lease] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        # Set by each new hold: the renewer re-reads its interval (settings changed since it
        # started, as tests do) instead of sleeping out an interval that no longer holds.
        self.wake = threading.Event()

    def hold(self, owner: str, *, claimed_at: float) -> Lease:
        lease = Lease(owner, valid_until=claimed_at + lease_seconds())
        with self.lock:
            self.held[owner] = lease
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._renew_forever, name="sms-lease-renewer", daemon=True
                )
                self.thread.start()
            else:
                self.wake.set()
        return lease

    def release(self, lease: Lease) -> None:
        with self.lock:
            self.held.pop(lease.owner, None)

    def renew(self) -> bool:
        """Extend every held lease by SMS_LEASE_SECONDS from now; whether the write went in."""
        with self.lock:
            leases = list(self.held.values())
        if not leases:
            return True
        written_at = time.monotonic()
        try:
            SMSLog.objects.filter(lease_owner__in=[lease.owner for lease in leases]).update(
                lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
            )
        except DatabaseError as exc:
            logger.warning(
                "Could not renew the lease of %d delivery run(s) (%s): they stop calling the "
                "provider before it can run out",
                len(leases),
                exc,
            )
            connection.close()  # a broken connection is opened anew at the next renewal
            return False
        for lease in leases:
            lease.extend(written_at)
        return True

    def _renew_forever(self) -> None:
        def interval() -> float:
            return float(conf.get("SMS_LEASE_RENEW_INTERVAL"))

        due = time.monotonic() + interval()
        while True:
            if self.wake.wait(max(due - time.monotonic(), 0)):
                self.wake.clear()
                due = min(due, time.monotonic() + interval())
                continue
            self.renew()
            close_old_connections()
            due = time.monotonic() + interval()


_keeper = LeaseKeeper()
_keeper_pid = 0
_keeper_lock = threading.Lock()


def keeper() -> LeaseKeeper:
    """This process's keeper (a new one after a fork: threads do not survive it)."""
    global _keeper, _keeper_pid
    with _keeper_lock:
        if _keeper_pid != os.getpid():
            _keeper, _keeper_pid = LeaseKeeper(), os.getpid()
        return _keeper
