import pytest


@pytest.mark.django_db
def test_healthz_reports_each_part_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: part["status"] for name, part in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "broker": "up",
    }


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    """Point the cache at a port where nothing listens: the report names the part that failed."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "up"
