"""Celery's consumer, reconnecting to a broker that came back within seconds, not half a minute.

Celery retries a lost broker connection with kombu's defaults, 2 s more at each try up to 30 s
apart: a worker could sit idle for up to 30 s after Redis or RabbitMQ was back. Here the tries
are at most RECONNECT_MAX_INTERVAL apart (a connection attempt every two seconds per worker
is nothing to a broker that is down).
"""

from functools import partial

from celery.worker.consumer import Consumer as CeleryConsumer

RECONNECT_FIRST_INTERVAL = 0.5  # seconds
RECONNECT_MAX_INTERVAL = 2.0


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn):
        conn.ensure_connection = partial(
            conn.ensure_connection,
            interval_start=RECONNECT_FIRST_INTERVAL,
            interval_step=RECONNECT_FIRST_INTERVAL,
            interval_max=RECONNECT_MAX_INTERVAL,
        )
        return super().ensure_connected(conn)
