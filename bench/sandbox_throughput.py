"""Benchmark: message creates/s against the Twilio sandbox, next to a hello-world baseline.

Usage: .venv/bin/python bench/sandbox_throughput.py [--requests 20000] [--concurrency 64]

Starts `python -m twilio_sandbox` and a trivial aiohttp hello-world server as subprocesses on
127.0.0.1 (free ports), drives authenticated form-encoded creates from this process with an
aiohttp client, prints a table, stops both servers. Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-token"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
BODY = {"To": "+15551230000", "From": "+15005550006", "Body": "Your order has shipped!"}


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# --- the baseline server: same stack (aiohttp + uvloop), no work -----------------------------


async def _hello(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"hello": "world"}, status=201)


async def _serve_hello() -> None:
    app = web.Application()
    app.router.add_post("/hello", _hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    host, port = runner.addresses[0][:2]
    print(f"listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()  # until terminated


# --- process handling ----------------------------------------------------------------------


def start_server(command: list[str], timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        match = LISTENING.search(output)
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited:\n{output}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{command} did not start in {timeout}s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load generator ----------------------------------------------------------------------


async def drive(url: str, requests: int, concurrency: int, expect: int) -> dict[str, Any]:
    auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Accept": "application/json"}
    latencies: list[float] = []
    errors = 0
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()
                    if response.status != expect:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "seconds": elapsed,
        "rate": requests / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


async def run(args: argparse.Namespace, sandbox: str, hello: str) -> dict[str, dict[str, Any]]:
    create = f"{sandbox}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    warmup = min(1000, args.requests)
    await drive(create, warmup, args.concurrency, 201)
    await drive(f"{hello}/hello", warmup, args.concurrency, 201)
    return {
        "hello-world baseline": await drive(f"{hello}/hello", args.requests, args.concurrency, 201),
        "sandbox message create": await drive(create, args.requests, args.concurrency, 201),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--step-delay", type=float, default=1.0)
    parser.add_argument("--hello-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hello_server:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve_hello())
        return 0
    sandbox_cmd = [
        sys.executable, "-m", "twilio_sandbox", "--port", "0", "--account-sid", ACCOUNT_SID,
        "--auth-token", AUTH_TOKEN, "--step-delay", str(args.step_delay),
    ]  # fmt: skip
    hello_cmd = [sys.executable, str(Path(__file__).resolve()), "--hello-server"]
    processes = []
    try:
        sandbox_process, sandbox = start_server(sandbox_cmd)
        processes.append(sandbox_process)
        hello_process, hello = start_server(hello_cmd)
        processes.append(hello_process)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            results = runner.run(run(args, sandbox, hello))
    finally:
        for process in processes:
            stop_server(process)
    print(f"\n{args.requests} requests per target, concurrency {args.concurrency}, "
          f"step delay {args.step_delay}s, 127.0.0.1\n")  # fmt: skip
    print(f"{'target':<24}{'requests':>9}{'seconds':>9}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'errors':>8}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:<24}{r['requests']:>9}{r['seconds']:>9.2f}{r['rate']:>9.0f}"
              f"{r['p50']:>8.2f}{r['p99']:>8.2f}{r['errors']:>8}")  # fmt: skip
    base, sand = results["hello-world baseline"], results["sandbox message create"]
    print(f"\nsandbox / baseline throughput: {sand['rate'] / base['rate']:.2f}")
    return 1 if sand["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
