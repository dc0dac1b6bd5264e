"""The synchronous baseline of bench/web_requests.py: the project's WSGI application with every
task run inside the request that publishes it, as the seed did (Twilio called while the user
waits). Nothing is put on the broker; the same services, task code and provider calls run.
Benchmark-only: `gunicorn bench.inline_tasks:application`.
"""

from celery import current_app

from notifications import publishing


def _run_in_request(name: str, *, what: str, recovery: str, args=(), **options) -> bool:
    # The web process never imports the tasks (it publishes them by name); running them, it must.
    import notifications.tasks  # noqa: F401

    # Countdowns are ignored: with the limiter off a delivery is never deferred.
    current_app.tasks[name].apply(args=args, task_id=options.get("task_id"), throw=True)
    return True


publishing._publish = _run_in_request

from config.wsgi import application  # noqa: E402

__all__ = ["application"]
