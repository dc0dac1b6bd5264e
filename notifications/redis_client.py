"""A raw Redis connection (the cache's Redis) for atomic operations: dedup keys, throttles."""

from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    return _client(settings.CACHES["default"]["LOCATION"])


def broker_redis() -> redis.Redis | None:
    """The Celery broker's Redis, or None when the broker is not Redis."""
    url = settings.CELERY_BROKER_URL
    if url.split("://", 1)[0] not in ("redis", "rediss", "unix", "redis+socket"):
        return None
    return _client(url)
