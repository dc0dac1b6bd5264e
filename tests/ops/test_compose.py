"""docker-compose.yml agrees with the code and the start scripts: queues, commands, ports,
addresses, dependencies, and the properties the services need to be run safely."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.ops.files import (
    SCRIPTS,
    MissingVariable,
    command,
    compose,
    compose_raw,
    environment,
    healthcheck,
    ports,
    script_default,
    script_of,
)
from worker.app import QUEUES

ENV = {"POSTGRES_PASSWORD": "compose-test-not-secret", "FLOWER_BASIC_AUTH": "ops:not-secret"}
APP_SERVICES = ("web", "worker", "worker-verify", "beat", "flower", "sandbox")


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return compose(ENV)["services"]


def seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def runs(service: dict, script: str) -> bool:
    path = script_of(service)
    return path is not None and path.name == script


def consumed_queues(service: dict) -> list[str]:
    """The queues a docker/start-worker service consumes: --queues/-Q among its arguments, else
    CELERY_WORKER_QUEUES from its environment, else the script's default."""
    words = command(service)
    for flag in ("--queues", "-Q"):
        if flag in words:
            return words[words.index(flag) + 1].split(",")
    default = script_default(SCRIPTS / "start-worker", "CELERY_WORKER_QUEUES")
    return environment(service).get("CELERY_WORKER_QUEUES", default).split(",")


def routed_queues() -> set[str]:
    return {
        *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values()),
        settings.CELERY_TASK_DEFAULT_QUEUE,
        *QUEUES,
    }


def test_every_queue_the_code_routes_to_is_consumed_by_an_always_on_worker(services):
    always_on = [s for s in services.values() if runs(s, "start-worker") and not s.get("profiles")]
    assert always_on, "no worker service starts by default"
    consumed = {queue for service in always_on for queue in consumed_queues(service)}
    assert routed_queues() <= consumed, routed_queues() - consumed


def test_the_worker_script_consumes_every_queue_in_the_apps_order_by_default():
    default = script_default(SCRIPTS / "start-worker", "CELERY_WORKER_QUEUES")
    assert default.split(",") == list(QUEUES)


def test_the_dedicated_verification_worker_runs_only_when_asked_and_consumes_only_verify(
    services,
):
    service = services["worker-verify"]
    assert service["profiles"] == ["verify"]
    assert consumed_queues(service) == ["verify"]
    assert "verify" in routed_queues()


def test_every_service_runs_an_executable_script_of_docker_or_a_pinned_image(services):
    for name, service in services.items():
        if name in APP_SERVICES:
            path = script_of(service)
            assert path and path.parent == SCRIPTS, (name, command(service))
            assert path.is_file() and path.stat().st_mode & 0o111, path
        else:
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+(\.\d+)?(-\w+)?", service["image"]), name


def test_every_app_service_runs_the_one_image_with_the_production_settings(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["image"] == services["web"]["image"], name
        assert environment(service)["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert service["restart"] == "unless-stopped", name
    for name in ("redis", "postgres"):
        assert services[name]["restart"] == "unless-stopped"


def test_webs_published_port_is_the_one_gunicorn_binds_and_its_healthcheck_asks(services):
    web = services["web"]
    port = int(environment(web).get("PORT", script_default(SCRIPTS / "start-web", "PORT")))
    assert [p.container for p in ports(web)] == [port]
    assert f"http://127.0.0.1:{port}/healthz/live" in healthcheck(web)
    assert "127.0.0.1" in environment(web)["DJANGO_ALLOWED_HOSTS"].split(",")


def test_flowers_published_port_is_the_one_it_listens_on(services):
    flower = services["flower"]
    port = int(environment(flower).get("FLOWER_PORT", script_default(SCRIPTS / "start-flower",
                                                                     "FLOWER_PORT")))  # fmt: skip
    assert [p.container for p in ports(flower)] == [port]
    assert f"http://127.0.0.1:{port}/healthcheck" in healthcheck(flower)


def test_the_app_reaches_the_sandbox_redis_and_postgres_by_their_service_names(services):
    env = environment(services["worker"])
    sandbox_port = int(re.search(r"--port (\d+)", (SCRIPTS / "start-sandbox").read_text())[1])
    twilio = urlsplit(env["TWILIO_API_BASE_URL"])
    assert (twilio.hostname, twilio.port) == ("sandbox", sandbox_port)
    assert [p.container for p in ports(services["sandbox"])] == [sandbox_port]
    assert f"http://127.0.0.1:{sandbox_port}/" in healthcheck(services["sandbox"])

    redis = urlsplit(env["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)

    database = urlsplit(env["DATABASE_URL"])
    postgres = environment(services["postgres"])
    assert (database.scheme, database.hostname, database.port) == ("postgres", "postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"] == ENV["POSTGRES_PASSWORD"]
    assert database.path == "/" + postgres["POSTGRES_DB"]


def test_the_sandboxs_callbacks_reach_web(services):
    public = urlsplit(environment(services["sandbox"])["PUBLIC_BASE_URL"])
    web_port = ports(services["web"])[0].container
    assert (public.hostname, public.port) == ("web", web_port)
    assert "web" in environment(services["web"])["DJANGO_ALLOWED_HOSTS"].split(",")


def test_dependencies_wait_for_health_where_there_is_a_healthcheck(services):
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            expected = "service_healthy" if "healthcheck" in services[dependency] else (
                "service_started")  # fmt: skip
            assert spec["condition"] == expected, (name, dependency)
    # Migrations first: web applies them, and the workers and beat need the tables.
    for name in ("worker", "worker-verify", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_beat_runs_once_and_workers_can_be_scaled(services):
    beats = [name for name, service in services.items() if runs(service, "start-beat")]
    assert beats == ["beat"]
    beat = services["beat"]
    assert int(beat.get("scale", 1)) == 1
    assert int((beat.get("deploy") or {}).get("replicas", 1)) == 1
    for name in ("worker", "worker-verify"):
        # A fixed name or host port would make `--scale worker=N` fail on the second one.
        assert "container_name" not in services[name] and not ports(services[name]), name


def test_the_worker_healthcheck_pings_its_own_node(services):
    assert script_default(SCRIPTS / "start-worker", "CELERY_WORKER_NAME") == "celery@%h"
    for name in ("worker", "worker-verify"):
        check = healthcheck(services[name])
        assert re.fullmatch(r"celery -A worker inspect ping --destination celery@\$HOSTNAME"
                            r" --timeout \d+", check), check  # fmt: skip
        timeout = int(check.rsplit(" ", 1)[1])
        assert seconds(services[name]["healthcheck"]["timeout"]) > timeout


def test_workers_and_web_have_time_for_a_warm_shutdown(services):
    # The longest task is a dispatcher run (SMS_DISPATCH_TIME_LIMIT); a delivery run's provider
    # calls are bounded by the Twilio timeouts.
    task = max(
        settings.SMS_DISPATCH_TIME_LIMIT,
        settings.TWILIO_CONNECT_TIMEOUT + settings.TWILIO_READ_TIMEOUT,
    )
    for name in ("worker", "worker-verify"):
        assert seconds(services[name]["stop_grace_period"]) > task, name
    graceful = re.search(r"--graceful-timeout (\d+)", (SCRIPTS / "start-web").read_text())
    assert seconds(services["web"]["stop_grace_period"]) > int(graceful[1])


def test_redis_keeps_every_acknowledged_write_and_never_evicts_a_task(services):
    redis = services["redis"]
    words = command(redis)
    options = dict(zip(words[1::2], words[2::2], strict=True))
    assert words[0] == "redis-server"
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-\w+)?", redis["image"])
    assert "redis-data:/data" in redis["volumes"] and "redis-data" in compose_raw()["volumes"]
    assert "redis-cli ping" in healthcheck(redis)


def test_postgres_keeps_its_data_in_a_named_volume(services):
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:1[67]\.\d+(-\w+)?", postgres["image"])
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose_raw()["volumes"]
    assert healthcheck(postgres).startswith("pg_isready")


def test_compose_refuses_to_start_without_a_flower_login_or_a_database_password():
    for missing in ("FLOWER_BASIC_AUTH", "POSTGRES_PASSWORD"):
        for env in ({k: v for k, v in ENV.items() if k != missing}, {**ENV, missing: ""}):
            with pytest.raises(MissingVariable, match=missing):
                compose(env)
    flower = compose(ENV)["services"]["flower"]
    assert environment(flower)["FLOWER_BASIC_AUTH"] == ENV["FLOWER_BASIC_AUTH"]


def test_only_web_flower_and_the_sandbox_publish_ports_and_the_tools_only_locally(services):
    published = {name for name, service in services.items() if ports(service)}
    assert published == {"web", "flower", "sandbox"}
    for name in ("flower", "sandbox"):  # Flower's login and the inbox travel unencrypted
        assert {p.host_ip for p in ports(services[name])} == {"127.0.0.1"}, name
