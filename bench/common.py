"""What the benchmarks share: servers as subprocesses on loopback, run as in production
(uvicorn with one worker per CPU, uvloop, httptools, no access log), the load generators (wrk,
or asyncio + httpx), the per-request statement count from the service's log, CPU and RSS of a
server's whole process tree, and the report's machine facts, results table and files.

Every benchmark module (`python -m bench.<name>`) provisions its own database and queries and
hands them to these pieces, so the numbers of different benchmarks are measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx
import psutil

from app.settings import PROJECT_ROOT

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"
GRAPHQL_PATH = "/graphql"
CONCURRENCIES = (1, 16)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_WAIT_S = 5.0
REQUEST_TIMEOUT_S = 5.0
# Every loop has a count cap next to its time bound, so it ends even if the clock misleads it.
MAX_POLLS = 1000
MAX_REQUESTS_PER_RUN = 2_000_000
# The service's user for the benchmark's API key; any UUID works for a superadmin.
BENCH_USER = uuid.UUID("00000000-0000-4000-8000-00000000be0c")

# wrk replays one request per connection; the body is read from a file so that any JSON is safe
# to send, and `done` prints the numbers as one parseable line instead of wrk's rounded report.
WRK_SCRIPT = r"""
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

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
    # User + system CPU of the server's whole process tree during the run, per request.
    cpu_ms_per_request: float = math.nan
    # User + system CPU of PostgreSQL's processes on this machine during the run, per
    # request (NaN when none is visible: a database on another host).
    db_cpu_ms_per_request: float = math.nan


@dataclass(frozen=True)
class QueryResult:
    key: str
    name: str
    description: str
    statements: int
    runs: list[Run]
    rss_before_kib: int
    rss_after_kib: int
    server: str = "slotgraph"


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
    service: str


# --- servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server on loopback: its master process (uvicorn's supervisor, or the only process),
    its log, and how it was started."""

    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    name: str = "slotgraph"
    command: tuple[str, ...] = ()
    launcher: str = ""

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
                f"{self.name} exited with code {code}; its log ends:\n{self.log_tail()}"
            )

    def processes(self) -> list[psutil.Process]:
        """The master and every descendant (uvicorn's workers, multiprocessing helpers)."""
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            raise BenchError(f"{self.name} is gone; its log ends:\n{self.log_tail()}") from None

    def rss_kib(self) -> int:
        """Resident memory of the whole process tree (shared pages count once per process)."""
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total // 1024

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the processes of the tree."""
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def workers(self) -> int:
        """Processes that serve requests: uvicorn's spawned workers, or the master alone."""
        spawned = 0
        for process in self.processes()[1:]:
            try:
                spawned += "spawn_main" in " ".join(process.cmdline())
            except psutil.NoSuchProcess:
                continue
        return spawned or 1

    def statements_for(self, request_id: str) -> int:
        """The statement count the service logged for one request."""
        deadline = time.monotonic() + LOG_WAIT_S
        for _ in range(MAX_POLLS):
            found = statements_in_log(self.log_path.read_text(errors="replace"), request_id)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise BenchError(
            f"the service logged no statement count for request {request_id}; the log ends:\n"
            + self.log_tail(5)
        )


def _statements_in_record(record: Any, request_id: str) -> int | None:
    # A structured log line may nest the request's fields (e.g. under "extra").
    if not isinstance(record, dict):
        return None
    statements = record.get("statements")
    if record.get("request_id") == request_id and isinstance(statements, int):
        return statements
    for value in record.values():
        found = _statements_in_record(value, request_id)
        if found is not None:
            return found
    return None


def statements_in_log(text: str, request_id: str) -> int | None:
    """The statements of one request from the service's log, in either format it writes:
    `graphql request_id=<id> ... statements=<n> ...` or one JSON object per line with
    `request_id` and `statements` keys."""
    plain = re.compile(rf"request_id={re.escape(request_id)}(?:\s|$).*?\bstatements=(\d+)")
    for line in text.splitlines():
        if request_id not in line:
            continue
        brace = line.find("{")
        if brace >= 0:
            try:
                found = _statements_in_record(json.loads(line[brace:]), request_id)
            except ValueError:
                found = None
            if found is not None:
                return found
        match = plain.search(line)
        if match is not None:
            return int(match.group(1))
    return None


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
        # The whole session: uvicorn's workers must not outlive a stuck supervisor.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


def clean_env(database_url: str) -> dict[str, str]:
    # Inherited SLOTGRAPH_* settings would make runs on different shells incomparable.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLOTGRAPH_") and key != "DATABASE_URL"
    }
    return env | {"DATABASE_URL": database_url, "SLOTGRAPH_ENV": "production"}


def uvicorn_command(factory: str, port: int, workers: int) -> list[str]:
    """uvicorn as the service runs in production: one worker per CPU, uvloop, httptools, no
    access log. Both slotgraph (when its CLI cannot start workers) and the floor use it."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def cli_has_workers() -> bool:
    """Whether `python -m app serve` takes `--workers` (it starts uvicorn's workers itself)."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0 and "--workers" in result.stdout


def slotgraph_command(launcher: str, port: int, workers: int) -> tuple[list[str], str]:
    """(command, launcher used): the CLI when asked or when it takes --workers ("auto"),
    else uvicorn directly with the app factory in bench.serve."""
    use_cli = launcher == "cli" or (launcher == "auto" and cli_has_workers())
    if use_cli:
        return [sys.executable, "-m", "app", "serve", "--workers", str(workers)], "cli"
    return uvicorn_command("bench.serve:slotgraph_app", port, workers), "uvicorn"


@contextmanager
def start_server(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    port: int,
    launcher: str,
    ready_path: str = "/readyz",
    cwd: Path = PROJECT_ROOT,
) -> Iterator[Server]:
    with log_path.open("wb") as log:
        # Its own session: a Ctrl-C reaches only this process, which then stops the server in
        # order, before the database goes away; and the session can be killed as a whole.
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        server = Server(process, log_path, port, name, tuple(command), launcher)
        wait_ready(server, ready_path)
        yield server
    finally:
        stop_process(process)


@contextmanager
def running_server(
    database_url: str, log_path: Path, *, workers: int | None = None, launcher: str = "auto"
) -> Iterator[Server]:
    """slotgraph in production mode on a free loopback port, with `workers` (default: one
    per CPU)."""
    port = free_port()
    count = workers or cpu_count()
    env = clean_env(database_url) | {
        "SLOTGRAPH_HOST": HOST,
        "SLOTGRAPH_PORT": str(port),
        "SLOTGRAPH_WORKERS": str(count),
    }
    command, used = slotgraph_command(launcher, port, count)
    with start_server("slotgraph", command, env, log_path, port, used) as server:
        yield server


def wait_ready(server: Server, path: str = "/readyz") -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=server.base_url, timeout=1.0) as client:
        for _ in range(MAX_POLLS):
            server.check_alive()
            try:
                if client.get(path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    raise BenchError(
        f"GET {path} on {server.name} did not answer 200 within {READY_TIMEOUT_S:.0f} s; "
        "the log ends:\n" + server.log_tail()
    )


def describe_server(server: Server) -> str:
    # The interpreter's path says nothing about the run; its name is enough.
    command = " ".join([Path(server.command[0]).name, *server.command[1:]])
    return (
        f"{server.name}: `{command}` ({server.workers()} worker processes; "
        f"{len(server.processes())} in the tree)"
    )


# --- authentication ------------------------------------------------------------------------


async def create_bench_key(database_url: str) -> str | None:
    """A superadmin API key for the benchmark's database, as an Authorization header value;
    None when this build has no API keys yet (then requests go without the header)."""
    try:
        apikeys = importlib.import_module("app.apikeys")
    except ModuleNotFoundError:
        return None
    # Through getattr: the benchmark runs against builds with and without app.apikeys.
    create_key = apikeys.create_key
    issued = await create_key(
        database_url,
        role="superadmin",
        user_uuid=BENCH_USER,
        domain="default",
        description="benchmark (bench/)",
    )
    token: str = issued.token
    return f"Bearer {token}"


def auth_headers(authorization: str | None) -> dict[str, str]:
    return {"authorization": authorization} if authorization else {}


# --- the queries ---------------------------------------------------------------------------


def post(
    client: httpx.Client, body: bytes, request_id: str, path: str = GRAPHQL_PATH
) -> dict[str, Any]:
    response = client.post(
        path,
        content=body,
        headers={"content-type": "application/json", "x-request-id": request_id},
    )
    if response.status_code != 200:
        raise BenchError(
            f"HTTP {response.status_code} from {path} for {body[:200]!r}: {response.text[:500]}"
        )
    result: dict[str, Any] = response.json()
    if result.get("errors") or result.get("data") is None:
        raise BenchError(f"GraphQL errors from {path} for {body[:200]!r}: {result}")
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
    """Send the query and check its row count: (its data, the SQL statements it took).

    Sent twice, the second count kept: the first request on a worker may also look up the
    API key, which each worker then caches."""
    data: dict[str, Any] = {}
    statements = 0
    for attempt in range(2):
        request_id = f"bench-{query.key}-{attempt}-{uuid.uuid4().hex[:12]}"
        data = post(client, query.body, request_id)["data"]
        statements = server.statements_for(request_id)
    rows = count_rows(data)
    if rows != query.expected_rows:
        raise BenchError(f"query {query.key} returned {rows} rows, expected {query.expected_rows}")
    return data, statements


def probe_statements(client: httpx.Client, server: Server, query: Query) -> int:
    """Send the query, check its answer, and return the SQL statements it took."""
    return probe(client, server, query)[1]


# --- load ----------------------------------------------------------------------------------


class Load(Protocol):
    def describe(self) -> str: ...

    def run(self, query: Query, concurrency: int, seconds: int, path: str = GRAPHQL_PATH) -> Run:
        """`query`'s body POSTed to `path` for `seconds` by `concurrency` connections."""
        ...


def _percentile_ms(sorted_seconds: Sequence[float], percent: float) -> float:
    if not sorted_seconds:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(sorted_seconds)))
    return sorted_seconds[rank - 1] * 1000


def cpu_count() -> int:
    # What `nproc` prints: the CPUs this process may run on, not all the machine has.
    return len(os.sched_getaffinity(0))


class WrkLoad:
    def __init__(
        self, executable: str, scratch: Path, port: int, authorization: str | None = None
    ) -> None:
        self.executable = executable
        self.scratch = scratch
        self.base_url = f"http://{HOST}:{port}"
        self.authorization = authorization
        self.script = scratch / "post.lua"
        self.script.write_text(WRK_SCRIPT)

    def with_port(self, port: int) -> WrkLoad:
        return WrkLoad(self.executable, self.scratch, port, self.authorization)

    def describe(self) -> str:
        result = subprocess.run(
            [self.executable, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (result.stdout or result.stderr).splitlines()
        version = first[0].split("[")[0].strip() if first else "wrk"
        return f"{version}, threads = min(concurrency, nproc), keep-alive connections"

    def run(self, query: Query, concurrency: int, seconds: int, path: str = GRAPHQL_PATH) -> Run:
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
            self.base_url + path,
        ]
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
        env["BENCH_AUTHORIZATION"] = self.authorization or ""
        result = subprocess.run(
            command,
            env=env,
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
        # wrk counts non-2xx answers as requests and only reports them as `status` errors.
        errors = sum(int(stats[k]) for k in ("connect", "read", "write", "status", "timeout"))
        return Run(
            concurrency=concurrency,
            requests=int(stats["requests"]),
            duration_s=duration_s,
            requests_per_s=stats["requests"] / duration_s,
            p50_ms=stats["p50_us"] / 1000,
            p99_ms=stats["p99_us"] / 1000,
            errors=errors,
        )


class HttpxLoad:
    def __init__(self, port: int, authorization: str | None = None) -> None:
        self.base_url = f"http://{HOST}:{port}"
        self.authorization = authorization

    def with_port(self, port: int) -> HttpxLoad:
        return HttpxLoad(port, self.authorization)

    def describe(self) -> str:
        return (
            f"asyncio + httpx {httpx.__version__} in one process, keep-alive connections "
            "(wrk is not installed: the client's own CPU competes with the server, so these "
            "numbers understate what the server can do)"
        )

    def run(self, query: Query, concurrency: int, seconds: int, path: str = GRAPHQL_PATH) -> Run:
        return asyncio.run(self._run(query.body, path, concurrency, seconds))

    async def _run(self, body: bytes, path: str, concurrency: int, seconds: int) -> Run:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"content-type": "application/json", **auth_headers(self.authorization)}
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
                        response = await client.post(path, content=body)
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


# CPU seconds used so far by each PostgreSQL process, by (pid, start time).
PostgresCpu = dict[tuple[int, float], float]


def postgres_cpu() -> PostgresCpu | None:
    """User + system CPU seconds used so far by each of PostgreSQL's processes on this
    machine (the postmaster, its background processes and every connection's backend), or
    None when there are none: the database runs elsewhere."""
    seen: PostgresCpu = {}
    for process in psutil.process_iter(["name", "cpu_times", "create_time"]):
        times = process.info["cpu_times"]
        if process.info["name"] == "postgres" and times is not None:
            seen[process.pid, process.info["create_time"]] = times.user + times.system
    return seen or None


def postgres_cpu_since(before: PostgresCpu | None) -> float | None:
    """PostgreSQL's CPU seconds since `before`, over the processes running now: one started
    since counts whole, one that ended since (an autovacuum worker, a closed connection)
    takes what it used in between with it, so the figure can be short but never negative.
    The servers' pool connections live through a run, so its statements all count."""
    after = postgres_cpu()
    if before is None or after is None:
        return None
    return sum(cpu - before.get(key, 0.0) for key, cpu in after.items())


def measured_run(
    server: Server, load: Load, query: Query, concurrency: int, seconds: int, path: str
) -> Run:
    """One load run with the server tree's CPU per request, and PostgreSQL's."""
    cpu_before, db_before = server.cpu_s(), postgres_cpu()
    run = load.run(query, concurrency, seconds, path)
    cpu, db = server.cpu_s() - cpu_before, postgres_cpu_since(db_before)
    if not run.requests:
        return run
    return dataclasses.replace(
        run,
        cpu_ms_per_request=cpu * 1000 / run.requests,
        db_cpu_ms_per_request=math.nan if db is None else db * 1000 / run.requests,
    )


def measure(
    server: Server,
    load: Load,
    query: Query,
    statements: int,
    warmup_s: int,
    duration_s: int,
    path: str = GRAPHQL_PATH,
) -> QueryResult:
    rss_before = server.rss_kib()
    runs: list[Run] = []
    for concurrency in CONCURRENCIES:
        if warmup_s > 0:
            load.run(query, concurrency, warmup_s, path)
        runs.append(measured_run(server, load, query, concurrency, duration_s, path))
        server.check_alive()
    return QueryResult(
        key=query.key,
        name=query.name,
        description=query.description,
        statements=statements,
        runs=runs,
        rss_before_kib=rss_before,
        rss_after_kib=server.rss_kib(),
        server=server.name,
    )


def measure_all(
    server: Server,
    load: Load,
    queries: Sequence[Query],
    statements: dict[str, int],
    warmup_s: int,
    duration_s: int,
    path_of: Callable[[Query], str] = lambda _: GRAPHQL_PATH,
) -> list[QueryResult]:
    results = []
    for query in queries:
        print(
            f"bench: measuring {query.key}. {query.name} on {server.name}",
            file=sys.stderr,
            flush=True,
        )
        results.append(
            measure(
                server,
                load,
                query,
                statements[query.key],
                warmup_s,
                duration_s,
                path_of(query),
            )
        )
    return results


def pick_load(
    generator: str, scratch: Path, port: int, authorization: str | None = None
) -> WrkLoad | HttpxLoad:
    """wrk when asked for or installed (with "auto"), else the httpx loop, said loudly."""
    wrk = shutil.which("wrk") if generator in ("auto", "wrk") else None
    if generator == "wrk" and wrk is None:
        raise BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
    if wrk:
        return WrkLoad(wrk, scratch, port, authorization)
    if generator == "auto":
        print(
            "bench: WARNING: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk); "
            "falling back to the asyncio + httpx load loop, which competes with the server "
            "for CPU and makes every figure worse",
            file=sys.stderr,
            flush=True,
        )
    return HttpxLoad(port, authorization)


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
        f"| service | {facts.service}; SLOTGRAPH_ENV=production, {HOST} |",
        f"| load | {facts.load_generator}; {facts.warmup_s} s warm-up + "
        f"{facts.duration_s} s per run; same machine as the service |",
        f"| server RSS when ready (process tree) | {mib(facts.rss_at_ready_kib)} MiB |",
    ]


def results_table(results: Sequence[QueryResult]) -> list[str]:
    """One row per query, then one line per query saying what it is."""
    header = ["query", "SQL/req"]
    for c in CONCURRENCIES:
        header += [f"c={c} req/s", f"c={c} p50 ms", f"c={c} p99 ms", f"c={c} CPU ms/req"]
    header += ["errors", "RSS MiB before", "RSS MiB after"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for result in results:
        cells = [f"{result.key}. {result.name}", str(result.statements)]
        for run in result.runs:
            cells += [
                f"{run.requests_per_s:.0f}",
                f"{run.p50_ms:.2f}",
                f"{run.p99_ms:.2f}",
                f"{run.cpu_ms_per_request:.2f}",
            ]
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
    # NaN (a run without requests) is not JSON; null is.
    json_path.write_text(json.dumps(_no_nan(payload), indent=2) + "\n")
    return md_path, json_path


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(item) for item in value]
    return value


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
    """The options every benchmark takes: --warmup, --duration, --quick, --load, --launcher,
    --workers."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warmup", type=seconds_arg, default=None, help="seconds (default 1)")
    parser.add_argument("--duration", type=seconds_arg, default=None, help="seconds (default 5)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1 s warm-up and 2 s per run unless --warmup/--duration say "
        "otherwise (and a short sustained run where there is one)",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator (default: wrk when installed, else httpx)",
    )
    parser.add_argument(
        "--launcher",
        choices=("auto", "cli", "uvicorn"),
        default="auto",
        help="how slotgraph is started: `python -m app serve --workers N` (cli), uvicorn with "
        "bench.serve's app factory (uvicorn), or the CLI when it takes --workers (auto)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server worker processes (default: nproc, as in production)",
    )
    return parser


def apply_defaults(args: argparse.Namespace) -> None:
    if args.warmup is None:
        args.warmup = 1
    if args.duration is None:
        args.duration = 2 if args.quick else 5
    if args.workers is None:
        args.workers = cpu_count()


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
    apply_defaults(args)
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
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
