"""How fast the bot acks Slack in HTTP mode as shipped, against bare Bolt under the same load.

Slack gives an HTTP endpoint 3 s to answer a slash command or a click. This measures the answer
time (the ack) per request, from opening the connection to having read the response, with
--concurrency client threads each sending its requests on a fresh connection, as Slack does. Signing
is done before the clock starts. Every server first gets --warmup requests of the same kind that are
not measured, so first-request costs (imports, caches, thread start-up) are left out.

- as shipped: the real app (`build_bot` + `build_app(http=True)`) served by the real `Runner`
  (waitress, 16 threads) on 127.0.0.1, configured from bot/warden.example.toml with the demo IBM i
  answering every statement after --latency seconds. --requests `/ibmi netstat` commands, each with
  its own response_url: the ack says "Reading connections…" and a lazy listener reads the slow demo.
- bare Bolt: a `slack_bolt.App` with the same settings (process_before_response, the signing secret,
  a client on the test server that checks the token with auth.test, the same size of listener pool)
  and a `/ibmi` listener that only calls ack(), on the same waitress setup, under the same load.
- buttons: one check cycle posts the demo's alerts to the test server first; then --requests
  `block_actions` clicks on "Silence 24h" of the unknown-connections alert, by a user who may not
  silence (a quick ack, then a lazy refusal through response_url), against the shipped app (after
  the commands, so the netstat readings are still queued) and, for comparison, against bare Bolt
  with an ack-only action listener.

Each server runs in a process of its own, as the bot does in production; this process plays Slack
(the Slack test server and the clients), so neither shares an interpreter lock with the server.
Next to the latencies, each line gives the server process's CPU time per request (all its threads,
read from /proc, so on Linux only): with every client waiting for its answer before sending the
next, the latencies follow it.

Both servers run at once and are measured in alternate rounds (--rounds), the side going first alternating,
so a busy spell on the machine falls on both alike.

    python bench/ack.py [--requests 200] [--concurrency 20] [--latency 2] [--warmup 20] [--rounds 10]

Targets on 2 cores: p99 <= 100 ms and p99 / bare Bolt p99 <= 1.5. The last line printed is one JSON
object: p50_ms, p99_ms, bare_bolt_p99_ms, ratio_vs_bare_bolt (slash commands), buttons_p99_ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Config, Secrets, load_config  # noqa: E402
from tests.slack_server import (  # noqa: E402
    APP_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    SlackTestServer,
    interactive_form,
    sign_request,
)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SCOPES = "chat:write,commands"  # what app.json asks for
EVENTS_PATH = "/slack/events"
BUTTON = "alert_silence_24h"
CLICKER = "U0STRANGER"  # neither operator nor approver in the example configuration
VIEWER = "U0VIEWER"  # any user may look: write_config sets [roles] viewers = ["*"]
P99_TARGET_MS = 100.0
RATIO_TARGET = 1.5


# --------------------------------------------------------------------------------------------------
# Configuration and the alert to click on


def write_config(folder: Path, latency: float) -> Path:
    """bot/warden.example.toml with the demo and the storage in `folder`, the demo's latency, and every user
    a viewer."""
    text = (REPO / "bot" / "warden.example.toml").read_text()
    for old, new in {
        'path = "demo-ibmi"': f"path = {json.dumps((folder / 'demo-ibmi').as_posix())}",
        'path = "warden-demo.db"': f"path = {json.dumps((folder / 'warden.db').as_posix())}",
        'latency = "0s"': f'latency = "{latency:g}s"',
        "viewers = []": 'viewers = ["*"]',
    }.items():
        if old not in text:
            raise SystemExit(f"bot/warden.example.toml no longer contains {old!r}; update bench/ack.py")
        text = text.replace(old, new)
    path = folder / "warden.toml"
    path.write_text(text)
    return path


def without_latency(config: Config) -> Config:
    return replace(
        config, systems=tuple(replace(s, demo=replace(s.demo, latency=0.0)) if s.demo else s for s in config.systems)
    )


class _SteppedClock:
    """Fake time for the delivery worker, so posting the alerts needs no waiting for Slack's pace."""

    def __init__(self) -> None:
        self.time = time.time()

    def now(self) -> float:
        return self.time


class _OfflineTracer:
    """Owners are not looked up here: the benchmark never reaches the network."""

    def trace(self, address: str) -> Any:
        from bot.trace import TraceError

        raise TraceError("unavailable", "not looked up in the benchmark")

    def prune(self) -> int:
        return 0


def post_alerts(config_path: Path, slack: SlackTestServer) -> None:
    """One check cycle (demo latency left out, only to be quick) and every outbox message delivered."""
    from bot.wiring import build_bot
    from storage import outbox

    clock = _SteppedClock()
    parts = build_bot(
        without_latency(load_config(config_path)),
        Secrets(slack_bot_token=slack.bot_token, slack_api_url=slack.base_url),
        clock=clock,
        tracer=_OfflineTracer(),
    )  # type: ignore[arg-type]
    try:
        parts.checks.run_cycle()
        for _ in range(500):
            parts.delivery.deliver_due()
            if outbox.pending_count(parts.storage) == 0:
                return
            clock.time += 1
        raise SystemExit("the outbox did not drain")
    finally:
        parts.close()


def alert_with_button(slack: SlackTestServer, channel: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The unknown-connections alert and its block and element holding BUTTON."""
    for message in slack.messages(channel):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == BUTTON and "unknown-connections" in message.get("text", ""):
                    return message, block, element
    raise SystemExit(f"no alert with a {BUTTON} button was posted to {channel}")


def click_body(slack: SlackTestServer, message: dict[str, Any], block: dict[str, Any], element: dict[str, Any]) -> str:
    """The form Slack POSTs when CLICKER clicks the button, with a response_url of its own."""
    channel = message["channel"]
    payload = {
        "type": "block_actions",
        "user": {"id": CLICKER, "username": "stranger", "name": "stranger", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "security-alerts"},
        "message": {k: v for k, v in message.items() if k != "channel"},
        "state": {"values": {}},
        "response_url": slack.new_response_url(),
        "actions": [
            {
                "action_id": BUTTON,
                "block_id": block["block_id"],
                "type": element.get("type"),
                "text": element.get("text"),
                "value": element.get("value"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return interactive_form(payload)


# --------------------------------------------------------------------------------------------------
# The servers, each in a process of its own


def serve(kind: str, config_path: Path) -> None:
    """Child process: start one server, print its port, and stop when stdin closes."""
    from bot.logging_setup import configure_logging

    config = load_config(config_path)
    slack_secrets = Secrets(
        slack_bot_token=os.environ["BENCH_BOT_TOKEN"],
        slack_api_url=os.environ["BENCH_API_URL"],
        slack_signing_secret=os.environ["BENCH_SIGNING_SECRET"],
    )
    configure_logging(config.log_level, [SIGNING_SECRET, os.environ["BENCH_BOT_TOKEN"]])
    port, stop = (serve_shipped if kind == "shipped" else serve_bare)(config, slack_secrets)
    print("ready", port, flush=True)
    sys.stdin.read()
    stop()
    sys.stdout.flush()
    # Lazy listeners may still be queued behind the slow demo; they are not part of the measurement.
    os._exit(0)


def serve_shipped(config: Config, slack_secrets: Secrets) -> tuple[int, Callable[[], None]]:
    """The app as `ibmi-warden run --http` builds and serves it."""
    from bot.runtime import Runner
    from bot.wiring import build_app, build_bot

    parts = build_bot(config, slack_secrets)
    app = build_app(parts, slack_secrets, http=True)
    runner = Runner(app, parts, http_port=0, http_host="127.0.0.1", schedule_checks=False)
    runner.start()
    assert runner.http_port is not None
    return runner.http_port, runner.stop  # stopping the runner closes the bot


def serve_bare(config: Config, slack_secrets: Secrets) -> tuple[int, Callable[[], None]]:
    """Bare Bolt with the shipped App settings and HTTP server, and listeners that only ack."""
    import logging

    from slack_bolt import Ack, App

    from bot.runtime import serve_http
    from bot.slack.client import make_web_client

    app = App(
        client=make_web_client(slack_secrets.slack_bot_token, slack_secrets.slack_api_url),
        signing_secret=slack_secrets.slack_signing_secret,
        request_verification_enabled=True,
        process_before_response=True,
        logger=logging.getLogger("slack_bolt"),
    )

    def only_ack(ack: Ack) -> None:
        ack()

    app.command(config.slack.command)(only_ack)
    app.action(BUTTON)(only_ack)
    return serve_http(app, "127.0.0.1", 0, ident="bare-bolt")


class Server:
    """`python bench/ack.py --serve KIND` in a child process, stopped by closing its stdin."""

    def __init__(self, kind: str, config_path: Path, slack: SlackTestServer, log_path: Path):
        self.kind = kind
        self.log_path = log_path
        # No SLACK_* variables: Bolt would pick them up (and warn) on its own.
        env = {name: value for name, value in os.environ.items() if not name.startswith("SLACK_")}
        env.update(BENCH_BOT_TOKEN=slack.bot_token, BENCH_API_URL=slack.base_url, BENCH_SIGNING_SECRET=SIGNING_SECRET)
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=REPO,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("ready "):
            self.stop()
            raise SystemExit(f"the {kind} server did not start:\n{log_path.read_text()[-4000:]}")
        self.port = int(line.split()[1])

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used, all its threads (Linux only: None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --------------------------------------------------------------------------------------------------
# Load and figures


@dataclass
class Result:
    status: int
    body: bytes
    seconds: float


def send(port: int, body: str) -> Result:
    """One signed POST on a fresh connection; the clock runs from connecting to the last byte read."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_request(body, SIGNING_SECRET)}
    data = body.encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", EVENTS_PATH, data, headers)
        response = connection.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - started
        return Result(response.status, raw, seconds)
    finally:
        connection.close()


def load(port: int, bodies: list[str], concurrency: int) -> list[Result]:
    """All bodies, `concurrency` at a time; the clients start together."""
    start = threading.Barrier(concurrency)
    pending = iter(bodies)
    lock = threading.Lock()
    results: list[Result] = []

    def client() -> None:
        start.wait()
        while True:
            with lock:
                body = next(pending, None)
            if body is None:
                return
            result = send(port, body)
            with lock:
                results.append(result)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    return results


@dataclass
class Measured:
    ms: list[float]  # the ack time of every request
    server_cpu_ms: float | None  # the server's CPU time per request, all its threads


def measure(
    server: Server,
    make_body: Callable[[], str],
    requests: int,
    concurrency: int,
    warmup: int,
    expect: Callable[[Result], bool],
    what: str,
) -> Measured:
    if warmup:
        load(server.port, [make_body() for _ in range(warmup)], min(concurrency, max(1, warmup)))
    bodies = [make_body() for _ in range(requests)]
    cpu_before = server.cpu_seconds()
    results = load(server.port, bodies, concurrency)
    cpu_after = server.cpu_seconds()
    wrong = [r for r in results if not expect(r)]
    if wrong:
        raise SystemExit(
            f"{what}: {len(wrong)} of {len(results)} answers were not as expected, e.g. "
            f"{wrong[0].status} {wrong[0].body[:300]!r}"
        )
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / len(results)
    return Measured([r.seconds * 1000 for r in results], cpu)


Side = tuple[Server, Callable[[], str], Callable[[Result], bool], str]  # server, body, expected answer, name


def interleaved(
    first: Side, second: Side, requests: int, concurrency: int, warmup: int, rounds: int
) -> tuple[Measured, Measured]:
    """Both sides measured in `rounds` alternate rounds (the side going first alternating too), so that the
    machine's conditions, and the shipped server's background work, fall on both alike."""
    for server, body, _, _ in (first, second):
        load(server.port, [body() for _ in range(warmup)], min(concurrency, max(1, warmup)))
    parts: dict[int, list[Measured]] = {0: [], 1: []}
    per_round = [requests // rounds + (index < requests % rounds) for index in range(rounds)]
    for index, count in enumerate(per_round):
        for side in (0, 1) if index % 2 == 0 else (1, 0):
            server, body, expect, what = (first, second)[side]
            parts[side].append(measure(server, body, count, concurrency, 0, expect, what))
    return merged(parts[0]), merged(parts[1])


def merged(parts: list[Measured]) -> Measured:
    """The rounds of one side as one measurement (server CPU per request weighted by the rounds' requests)."""
    values = [ms for part in parts for ms in part.ms]
    cpu_total = 0.0
    for part in parts:
        if part.server_cpu_ms is None:
            return Measured(values, None)
        cpu_total += part.server_cpu_ms * len(part.ms)
    return Measured(values, cpu_total / len(values))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of all values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def figures(measured: Measured) -> dict[str, Any]:
    values = measured.ms
    return {
        "p50": round(statistics.median(values), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
        "cpu": measured.server_cpu_ms,
    }


def line(name: str, figure: dict[str, Any], target: bool = False) -> str:
    text = f"{name}: p50 {figure['p50']} ms, p99 {figure['p99']} ms, max {figure['max']} ms"
    if figure["cpu"] is not None:
        text += f", server CPU {figure['cpu']:.2f} ms per request"
    if target:
        text += f" (target p99 <= {P99_TARGET_MS:g} ms: {'met' if figure['p99'] <= P99_TARGET_MS else 'MISSED'})"
    return text


def acked_netstat(result: Result) -> bool:
    return result.status == 200 and "Reading connections on" in result.body.decode("utf-8", "replace")


def acked_empty(result: Result) -> bool:
    return result.status == 200 and not result.body.strip()


def acked(result: Result) -> bool:
    return result.status == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="measured requests per kind and server")
    parser.add_argument("--concurrency", type=int, default=20, help="client threads")
    parser.add_argument("--latency", type=float, default=2.0, help="demo seconds per statement")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each measurement")
    parser.add_argument("--rounds", type=int, default=10, help="alternate rounds the requests are split into")
    parser.add_argument("--serve", choices=("shipped", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.config)
        return

    with SlackTestServer(scopes=SCOPES) as slack, tempfile.TemporaryDirectory() as folder:
        config_path = write_config(Path(folder), args.latency)
        config = load_config(config_path)
        post_alerts(config_path, slack)
        message, block, element = alert_with_button(slack, config.slack.alerts_channel)

        def netstat() -> str:
            return slack.slash_command_form(
                "netstat", command=config.slack.command, user_id=VIEWER, response_url=slack.new_response_url()
            )

        def click() -> str:
            return click_body(slack, message, block, element)

        run = (args.requests, args.concurrency, args.warmup, args.rounds)
        bare = Server("bare", config_path, slack, Path(folder) / "bare.log")
        shipped = Server("shipped", config_path, slack, Path(folder) / "shipped.log")
        try:  # both servers up together, measured in alternate rounds: a busy spell hits both alike
            acks, bare_acks = interleaved(
                (shipped, netstat, acked_netstat, "/ibmi netstat"), (bare, netstat, acked, "bare Bolt /ibmi"), *run
            )
            clicks, bare_clicks = interleaved(
                (shipped, click, acked_empty, "button clicks"), (bare, click, acked, "bare Bolt clicks"), *run
            )
        finally:
            bare.stop()
            shipped.stop()

    ours, base, buttons, base_buttons = figures(acks), figures(bare_acks), figures(clicks), figures(bare_clicks)
    ratio = round(percentile(acks.ms, 0.99) / percentile(bare_acks.ms, 0.99), 2)
    print(
        f"{os.cpu_count()} CPUs; {args.requests} requests per figure at concurrency {args.concurrency}, each on a "
        f"fresh connection, after {args.warmup} unmeasured warm-up requests per server and kind"
    )
    print(line(f"/ibmi netstat ack, as shipped (demo IBM i {args.latency:g}s per statement)", ours, target=True))
    print(line("/ibmi ack, bare Bolt (a listener that only acks)", base))
    print(
        f"p99 as shipped / bare Bolt p99: {ratio} (target <= {RATIO_TARGET:g}: "
        f"{'met' if ratio <= RATIO_TARGET else 'MISSED'})"
    )
    print(line(f"button click ack ({BUTTON} by a user who may not silence), as shipped", buttons, target=True))
    print(line("button click ack, bare Bolt (an action listener that only acks)", base_buttons))
    print(
        json.dumps(
            {
                "p50_ms": ours["p50"],
                "p99_ms": ours["p99"],
                "bare_bolt_p99_ms": base["p99"],
                "ratio_vs_bare_bolt": ratio,
                "buttons_p99_ms": buttons["p99"],
            }
        )
    )


if __name__ == "__main__":
    main()
