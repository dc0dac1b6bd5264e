"""CLI: `python -m twilio_sandbox [--host 127.0.0.1] [--port 8025] ...` runs the sandbox.

Defaults: host 127.0.0.1, port 8025 (0 picks a free port), account SID
ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, auth token `sandbox-auth-token`, step delay 1.0 s,
service number +15005550006, verify code length 6, no inbound URL, no faults.
Point the twilio library at http://HOST:PORT for both https://api.twilio.com and
https://verify.twilio.com; the inbox is at http://HOST:PORT/_sandbox/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .app import build_app
from .state import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_SERVICE_NUMBER, Settings

log = logging.getLogger("twilio_sandbox")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m twilio_sandbox",
        description="A local Twilio sandbox (Messages + Verify v2) with an inbox at /_sandbox/.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8025, help="port to bind (0: any free)")
    parser.add_argument(
        "--account-sid",
        default=DEFAULT_ACCOUNT_SID,
        help="account SID accepted by HTTP Basic auth (AC + 32 hex)",
    )
    parser.add_argument(
        "--auth-token",
        default=DEFAULT_AUTH_TOKEN,
        help="auth token: Basic auth password and webhook signing key",
    )
    parser.add_argument(
        "--step-delay",
        type=float,
        default=1.0,
        help="seconds between lifecycle steps (queued->sending->sent->...)",
    )
    parser.add_argument(
        "--inbound-url", default=None, help="webhook URL that simulated inbound SMS are POSTed to"
    )
    parser.add_argument(
        "--verify-code-length", type=int, default=6, help="default length of Verify codes (4..10)"
    )
    parser.add_argument(
        "--service-number",
        default=DEFAULT_SERVICE_NUMBER,
        help="the service's own number: inbound To, Messaging Service and Verify sender",
    )
    parser.add_argument(
        "--fail-number",
        action="append",
        default=[],
        metavar="NUMBER=CODE",
        help="make messages to NUMBER end with CODE, 30xxx or 21610 (NUMBER=CODE[:failed|"
        "undelivered][:create]; create: the create response is already final); repeatable",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='faults as in POST /_sandbox/faults, e.g. \'{"http_500": '
        '{"rate": 0.1, "seed": 1}}\'; repeatable, merged',
    )
    parser.add_argument(
        "--callback-retries",
        type=int,
        default=3,
        help="retries of a failed status callback before it is dropped",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level")
    return parser.parse_args(argv)  # fmt: skip


def settings_from(args: argparse.Namespace) -> tuple[Settings, dict[str, Any]]:
    settings = Settings(account_sid=args.account_sid, auth_token=args.auth_token)
    fail_numbers: dict[str, Any] = {}
    for item in args.fail_number:
        number, _, spec = item.partition("=")
        code, *flags = spec.split(":")
        status = next((flag for flag in flags if flag != "create"), None)
        on_create = "create" in flags
        fail_numbers[number] = {"error_code": int(code), "status": status, "on_create": on_create}
    settings.update(
        {
            "step_delay": args.step_delay,
            "inbound_url": args.inbound_url,
            "verify_code_length": args.verify_code_length,
            "service_number": args.service_number,
            "fail_numbers": fail_numbers,
            "callback_retries": args.callback_retries,
        }
    )
    faults: dict[str, Any] = {}
    for text in args.fault:
        faults.update(json.loads(text))
    return settings, faults


async def serve(settings: Settings, faults: dict[str, Any], host: str, port: int) -> None:
    app = build_app(settings, faults)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    base = f"http://{bound_host}:{bound_port}"
    log.info("Twilio sandbox listening on %s (inbox: %s/_sandbox/, account %s)", base, base,
             settings.account_sid)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("Twilio sandbox shutting down")
        await runner.cleanup()


def _loop_factory() -> Any:
    try:
        import uvloop  # optional: roughly doubles the request rate
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings, faults = settings_from(args)
    except (ValueError, json.JSONDecodeError) as exc:
        print(f"twilio_sandbox: {exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(settings, faults, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
