"""What the benchmarks share: the service as a subprocess on loopback, the load generators
(wrk, or asyncio + httpx), the per-request statement count from the service's log, and the
report's machine facts, results table and files.

Every benchmark module (`python -m bench.<name>`) provisions its own database and queries and
hands them to these pieces, so the numbers of different benchmarks are measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx

from app.settings import PROJECT_ROOT

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"
CONCURRENCIES = (1, 16)
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
LOG_WAIT_S = 5.0
REQUEST_TIMEOUT_S = 5.0
# Every loop has a count cap next to its time bound, so it ends even if the clock misleads it.
MAX_POLLS = 500
MAX_REQUESTS_PER_RUN = 2_000_000

# wrk replays one request per connection; the body is read from a file so that any JSON is safe
# to send, and `done` prints the numbers as one parseable line instead of wrk's rounded report.
WRK_SCRIPT = r"""
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%.0f,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


@dataclass(frozen=True)
class Query:
    key: str
    name: str
    description: str
    payload: dict[str, Any]
    expected_rows: int

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Run:
    concurrency: int
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class QueryResult:
    key: str
    name: str
    description: str
    statements: int
    runs: list[Run]
    rss_before_kib: int
    rss_after_kib: int


@dataclass(frozen=True)
class RunFacts:
    """What every report states first: when, on what, and how the load was made."""

    timestamp: str
    machine: dict[str, str]
    database: str
    load_generator: str
    warmup_s: int
    duration_s: int
    rss_at_ready_kib: int


# --- the database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(
                f"the service exited with code {code}; its log ends:\n{self.log_tail()}"
            )

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        if match is None:
            raise BenchError(f"no VmRSS in /proc/{self.process.pid}/status")
        return int(match.group(1))

    def statements_for(self, request_id: str) -> int:
        """The statements= value the service logged for one request."""
        pattern = re.compile(rf"request_id={re.escape(request_id)} .*?statements=(\d+)")
        deadline = time.monotonic() + LOG_WAIT_S
        for _ in range(MAX_POLLS):
            match = pattern.search(self.log_path.read_text(errors="replace"))
            if match is not None:
                return int(match.group(1))
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise BenchError(f"the service logged no statement count for request {request_id}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running_server(database_url: str, log_path: Path) -> Iterator[Server]:
    # Inherited SLOTGRAPH_* settings would make runs on different shells incomparable.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLOTGRAPH_") and key != "DATABASE_URL"
    }
    port = free_port()
    env |= {
        "DATABASE_URL": database_url,
        "SLOTGRAPH_ENV": "production",
        "SLOTGRAPH_HOST": HOST,
        "SLOTGRAPH_PORT": str(port),
    }
    with log_path.open("wb") as log:
        # Its own session: a Ctrl-C reaches only this process, which then stops the service in
        # order, before the database goes away.
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        server = Server(process, log_path, port)
        wait_ready(server)
        yield server
    finally:
        stop_process(process)


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=server.base_url, timeout=1.0) as client:
        for _ in range(MAX_POLLS):
            server.check_alive()
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    raise BenchError(
        f"GET /readyz did not answer 200 within {READY_TIMEOUT_S:.0f} s; the log ends:\n"
        + server.log_tail()
    )


# --- the queries ---------------------------------------------------------------------------


# --- the queries ---------------------------------------------------------------------------


def post(client: httpx.Client, body: bytes, request_id: str) -> dict[str, Any]:
    response = client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "x-request-id": request_id},
    )
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code} for {body[:200]!r}: {response.text[:500]}")
    result: dict[str, Any] = response.json()
    if result.get("errors") or result.get("data") is None:
        raise BenchError(f"GraphQL errors for {body[:200]!r}: {result}")
    return result


def count_rows(data: dict[str, Any]) -> int:
    """Rows in an answer with one root field: the non-null entries of a list (`nodes`), or
    the edges of a connection."""
    if len(data) != 1:
        raise BenchError(f"expected one root field, got {sorted(data)}")
    [value] = data.values()
    if isinstance(value, list):
        return sum(item is not None for item in value)
    return len(value["edges"])


def probe(client: httpx.Client, server: Server, query: Query) -> tuple[dict[str, Any], int]:
    """Send the query once and check its row count: (its data, the SQL statements it took)."""
    request_id = f"bench-{query.key}-{uuid.uuid4().hex[:12]}"
    data: dict[str, Any] = post(client, query.body, request_id)["data"]
    rows = count_rows(data)
    if rows != query.expected_rows:
        raise BenchError(f"query {query.key} returned {rows} rows, expected {query.expected_rows}")
    return data, server.statements_for(request_id)


def probe_statements(client: httpx.Client, server: Server, query: Query) -> int:
    """Send the query once, check its answer, and return the SQL statements it took."""
    return probe(client, server, query)[1]


# --- load ----------------------------------------------------------------------------------


class Load(Protocol):
    def describe(self) -> str: ...

    def run(self, query: Query, concurrency: int, seconds: int) -> Run: ...


def _percentile_ms(sorted_seconds: Sequence[float], percent: float) -> float:
    if not sorted_seconds:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(sorted_seconds)))
    return sorted_seconds[rank - 1] * 1000


def cpu_count() -> int:
    # What `nproc` prints: the CPUs this process may run on, not all the machine has.
    return len(os.sched_getaffinity(0))


class WrkLoad:
    def __init__(self, executable: str, scratch: Path, port: int) -> None:
        self.executable = executable
        self.scratch = scratch
        self.url = f"http://{HOST}:{port}/graphql"
        self.script = scratch / "post.lua"
        self.script.write_text(WRK_SCRIPT)

    def describe(self) -> str:
        result = subprocess.run(
            [self.executable, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (result.stdout or result.stderr).splitlines()
        version = first[0].split("[")[0].strip() if first else "wrk"
        return f"{version}, threads = min(concurrency, nproc), keep-alive connections"

    def run(self, query: Query, concurrency: int, seconds: int) -> Run:
        body_file = self.scratch / f"body-{query.key}.json"
        body_file.write_bytes(query.body)
        threads = max(1, min(concurrency, cpu_count()))
        command = [
            self.executable,
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{seconds}s",
            f"--timeout={REQUEST_TIMEOUT_S:.0f}s",
            f"-s{self.script}",
            self.url,
        ]
        result = subprocess.run(
            command,
            env={**os.environ, "BENCH_BODY_FILE": str(body_file)},
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
        match = re.search(r"^BENCH_RESULT (\{.*\})$", result.stdout, re.MULTILINE)
        if result.returncode != 0 or match is None:
            raise BenchError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
        stats = json.loads(match.group(1))
        duration_s = stats["duration_us"] / 1e6
        # wrk stops early and still exits 0 on SIGINT; a short run is not a measurement.
        if duration_s < 0.9 * seconds:
            raise BenchError(f"wrk ran {duration_s:.2f} s of {seconds} s")
        return Run(
            concurrency=concurrency,
            requests=int(stats["requests"]),
            duration_s=duration_s,
            requests_per_s=stats["requests"] / duration_s,
            p50_ms=stats["p50_us"] / 1000,
            p99_ms=stats["p99_us"] / 1000,
            errors=sum(int(stats[k]) for k in ("connect", "read", "write", "status", "timeout")),
        )


class HttpxLoad:
    def __init__(self, port: int) -> None:
        self.base_url = f"http://{HOST}:{port}"

    def describe(self) -> str:
        return f"asyncio + httpx {httpx.__version__} in one process, keep-alive connections"

    def run(self, query: Query, concurrency: int, seconds: int) -> Run:
        return asyncio.run(self._run(query.body, concurrency, seconds))

    async def _run(self, body: bytes, concurrency: int, seconds: int) -> Run:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"content-type": "application/json"}
        per_worker = MAX_REQUESTS_PER_RUN // concurrency
        async with httpx.AsyncClient(
            base_url=self.base_url, limits=limits, timeout=REQUEST_TIMEOUT_S, headers=headers
        ) as client:
            started = time.perf_counter()
            deadline = started + seconds

            async def worker() -> None:
                nonlocal errors
                for _ in range(per_worker):
                    sent = time.perf_counter()
                    if sent >= deadline:
                        return
                    try:
                        response = await client.post("/graphql", content=body)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - sent)
                    else:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        return Run(
            concurrency=concurrency,
            requests=len(latencies) + errors,
            duration_s=elapsed,
            requests_per_s=len(latencies) / elapsed,
            p50_ms=_percentile_ms(latencies, 50),
            p99_ms=_percentile_ms(latencies, 99),
            errors=errors,
        )


def measure(
    server: Server, load: Load, query: Query, statements: int, warmup_s: int, duration_s: int
) -> QueryResult:
    rss_before = server.rss_kib()
    runs: list[Run] = []
    for concurrency in CONCURRENCIES:
        if warmup_s > 0:
            load.run(query, concurrency, warmup_s)
        runs.append(load.run(query, concurrency, duration_s))
        server.check_alive()
    return QueryResult(
        key=query.key,
        name=query.name,
        description=query.description,
        statements=statements,
        runs=runs,
        rss_before_kib=rss_before,
        rss_after_kib=server.rss_kib(),
    )


def measure_all(
    server: Server,
    load: Load,
    queries: Sequence[Query],
    statements: dict[str, int],
    warmup_s: int,
    duration_s: int,
) -> list[QueryResult]:
    results = []
    for query in queries:
        print(f"bench: measuring {query.key}. {query.name}", file=sys.stderr, flush=True)
        results.append(measure(server, load, query, statements[query.key], warmup_s, duration_s))
    return results


def pick_load(generator: str, scratch: Path, port: int) -> Load:
    """wrk when asked for or installed (with "auto"), else the httpx loop."""
    wrk = shutil.which("wrk") if generator in ("auto", "wrk") else None
    if generator == "wrk" and wrk is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    return WrkLoad(wrk, scratch, port) if wrk else HttpxLoad(port)


# --- the report ----------------------------------------------------------------------------


def machine_facts(postgres_version: str, loadavg: str) -> dict[str, str]:
    facts = {
        "nproc": str(cpu_count()),
        "cpu": "unknown",
        "memory": "unknown",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": postgres_version,
        "loadavg_at_start": loadavg,
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            facts["cpu"] = match.group(1).strip()
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s+(\d+)\s+kB", meminfo.read_text(), re.MULTILINE)
        if match:
            facts["memory"] = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB"
    return facts


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def environment_rows(facts: RunFacts) -> list[str]:
    """The two-column table of what the numbers were measured on, without a closing blank."""
    m = facts.machine
    return [
        "| | |",
        "|---|---|",
        f"| machine | nproc {m['nproc']}, {m['cpu']}, {m['memory']} RAM, {m['os']} |",
        f"| load average at start (1/5/15 min) | {m['loadavg_at_start']} |",
        f"| Python | {m['python']} |",
        f"| PostgreSQL | {m['postgresql']} |",
        f"| database | {facts.database} |",
        "| service | `python -m app serve`, SLOTGRAPH_ENV=production, one uvicorn process, "
        f"{HOST} |",
        f"| load | {facts.load_generator}; {facts.warmup_s} s warm-up + "
        f"{facts.duration_s} s per run; same machine as the service |",
        f"| server RSS when ready | {mib(facts.rss_at_ready_kib)} MiB |",
    ]


def results_table(results: Sequence[QueryResult]) -> list[str]:
    """One row per query, then one line per query saying what it is."""
    header = ["query", "SQL/req"]
    for c in CONCURRENCIES:
        header += [f"c={c} req/s", f"c={c} p50 ms", f"c={c} p99 ms"]
    header += ["errors", "RSS MiB before", "RSS MiB after"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for result in results:
        cells = [f"{result.key}. {result.name}", str(result.statements)]
        for run in result.runs:
            cells += [f"{run.requests_per_s:.0f}", f"{run.p50_ms:.2f}", f"{run.p99_ms:.2f}"]
        cells += [
            str(sum(run.errors for run in result.runs)),
            mib(result.rss_before_kib),
            mib(result.rss_after_kib),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for result in results:
        lines.append(f"- {result.key}. {result.name}: {result.description}")
    return lines


def utc_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def loadavg_now() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def write_report(
    name: str, timestamp: str, markdown: str, payload: dict[str, Any]
) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-" + timestamp.replace("-", "").replace(":", "")
    md_path, json_path = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    md_path.write_text(markdown)
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    return md_path, json_path


# --- the command line ----------------------------------------------------------------------


def raise_on_sigterm(signum: int, _: FrameType | None) -> None:
    # The default SIGTERM action skips `finally`; an exception unwinds the cleanup stack.
    raise SystemExit(128 + signum)


def seconds_arg(raw: str) -> int:
    # wrk takes whole seconds; the upper bound keeps a full run within a few minutes.
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be whole seconds, got {raw!r}") from None
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be between 0 and 60 seconds, got {value}")
    return value


def bench_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The options every benchmark takes: --warmup, --duration, --load."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--warmup", type=seconds_arg, default=1, help="seconds (default 1)")
    parser.add_argument("--duration", type=seconds_arg, default=5, help="seconds (default 5)")
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator (default: wrk when installed, else httpx)",
    )
    return parser


def run_cli(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    bench: Callable[[argparse.Namespace], tuple[str, str, dict[str, Any]]],
    *,
    interrupted: str,
) -> int:
    """Parse the arguments, run `bench` (which returns the report's file name, markdown and
    JSON payload), write and print the report. Ctrl-C and SIGTERM unwind `bench`'s cleanup."""
    args = parser.parse_args(argv)
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    try:
        name, markdown, payload = bench(args)
        # The payload's timestamp names the files, so the .md and .json of one run pair up.
        md_path, json_path = write_report(name, payload["timestamp"], markdown, payload)
    except KeyboardInterrupt:
        print(f"bench: interrupted; {interrupted}", file=sys.stderr)
        return 130
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print(markdown)
    print(f"bench: wrote {md_path} and {json_path}", file=sys.stderr)
    return 0
