"""One worker of this tree against one worker of another revision: CPU per request.

    BENCH_DATABASE_URL=postgresql://… python -m bench.worker --base REF [--only t,s,f,a]
        [--runs 6] [--duration 3] [--concurrency 8]

A change to the request path shows here before a full `make bench`, and more truly than in
`bench.inprocess`: code a request runs costs more in a server than in a loop of requests,
because between two requests the server runs uvicorn, the socket and PostgreSQL's client, and
each request finds less of its code and data in the CPU's caches.

Both revisions run as `python -m app serve --workers 1` (SLOTGRAPH_ENV=production), pinned to
CPU 0; REF is checked out into bench/.cache/worktrees/<commit> (git-ignored) and runs with this
tree's virtualenv. wrk runs pinned to CPU 1 (`-t1`), so the load generator and the worker do
not take each other's CPU; PostgreSQL runs wherever the system puts it. Per query the two
alternate in runs of `--duration` seconds (base first in odd runs, last in even ones), and each
run's CPU per request is the worker's user + system CPU over the requests wrk counted. The
report gives every run, the medians, and this tree / REF; under each query, a `pg` row gives
the same for PostgreSQL's processes on this machine (the statements' cost on the server). The
data set is bench.cluster's (`make bench` builds it); `t` is `{ __typename }`, the fixed cost
of a request.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from app.settings import PROJECT_ROOT
from bench.cluster import (
    AGENT_INFO_FIELDS,
    NODES_QUERY,
    PAGE_QUERY,
    SLOT_LIST_QUERY,
    _agents_query,
    _keys,
    _running_query,
    built_dataset_url,
    node_ids,
)
from bench.common import (
    HOST,
    BenchError,
    Query,
    Server,
    WrkLoad,
    clean_env,
    free_port,
    postgres_cpu,
    postgres_cpu_since,
    start_server,
)

WORKTREES = PROJECT_ROOT / "bench" / ".cache" / "worktrees"
SERVER_CPU = 0
LOAD_CPU = 1
QUERIES = {
    "t": ("fixed cost", "{ __typename }"),
    "s": ("slot-type list", SLOT_LIST_QUERY),
    "a": ("agents+slots", _agents_query("")),
    "b": ("agents+slots+info", _agents_query(AGENT_INFO_FIELDS)),
    "c": ("running kernels", _running_query()),
    "d": ("nodes", NODES_QUERY),
    "f": ("kernel page, first", PAGE_QUERY),
}


def checkout(ref: str) -> Path:
    """REF's tree in bench/.cache/worktrees/<commit>, made once per commit."""
    resolved = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        raise BenchError(f"--base {ref!r} is not a commit of this repository")
    commit = resolved.stdout.strip()
    tree = WORKTREES / commit
    if not (tree / "app").is_dir():
        WORKTREES.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(tree), commit],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        )
    return tree


def alternating(runs: int) -> Iterator[tuple[str, str]]:
    """The order of each run's two sides: base first in odd runs, last in even ones, so a
    drift of the machine's speed falls on both alike."""
    for index in range(runs):
        yield ("base", "this") if index % 2 == 0 else ("this", "base")


def cpu_us_per_request(cpu_s: float, requests: int) -> float:
    if requests <= 0:
        raise BenchError("a run served no requests")
    return cpu_s / requests * 1e6


def summary(samples: dict[str, list[float]]) -> tuple[float, float, float]:
    """(median of base, median of this tree, this / base); the ratio is NaN when base is 0
    (PostgreSQL's share of `{ __typename }`, which runs no statement)."""
    base, this = statistics.median(samples["base"]), statistics.median(samples["this"])
    return base, this, this / base if base else math.nan


def line(label: str, samples: dict[str, list[float]]) -> str:
    """One row of the report: the medians, their ratio, and every run."""
    base, this, ratio = summary(samples)
    runs = " ".join(f"{v:.0f}" for v in samples["base"]) + " | "
    runs += " ".join(f"{v:.0f}" for v in samples["this"])
    shown = "-" if math.isnan(ratio) else f"{ratio:.3f}"
    return f"{label:<6}{base:>10.1f}{this:>10.1f}{shown:>8}  {runs}"


@contextmanager
def worker(name: str, tree: Path, database_url: str, scratch: Path) -> Iterator[Server]:
    port = free_port()
    env = clean_env(database_url) | {"SLOTGRAPH_HOST": HOST, "SLOTGRAPH_PORT": str(port)}
    command = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "app", "serve"]
    command += ["--workers", "1"]
    with start_server(name, command, env, scratch / f"{name}.log", port, "cli", cwd=tree) as s:
        yield s


def payload(key: str, database_url: str, kernels: int) -> dict[str, Any]:
    """The request body of query `key`; d's IDs are bench.cluster's, from the data set."""
    document = QUERIES[key][1]
    if key != "d":
        return {"query": document}
    ids, _ = node_ids(asyncio.run(_keys(database_url, kernels)))
    return {"query": document, "variables": {"ids": ids}}


def measure(args: argparse.Namespace, database_url: str, authorization: str) -> int:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise BenchError("bench.worker needs wrk and taskset (Debian: wrk, util-linux)")
    if len(os.sched_getaffinity(0)) < 2:
        raise BenchError("bench.worker needs two CPUs: one for the worker, one for wrk")
    os.sched_setaffinity(0, {LOAD_CPU})  # wrk, started from here, runs there too
    trees = {"base": checkout(args.base), "this": PROJECT_ROOT}
    keys = [key.strip() for key in args.only.split(",") if key.strip()]
    unknown = sorted(set(keys) - set(QUERIES))
    if unknown:
        raise BenchError(f"unknown queries {unknown}; pick from {','.join(QUERIES)}")
    with tempfile.TemporaryDirectory() as scratch_name, ExitStack() as stack:
        scratch = Path(scratch_name)
        servers = {
            side: stack.enter_context(worker(side, tree, database_url, scratch))
            for side, tree in trees.items()
        }
        loads = {
            side: WrkLoad("wrk", scratch, server.port, authorization)
            for side, server in servers.items()
        }
        print(f"base {args.base} ({trees['base'].name[:12]}) against this tree")
        print(f"{'query':<6}{'base µs':>10}{'this µs':>10}{'ratio':>8}  runs (base | this)")
        for key in keys:
            name = QUERIES[key][0]
            query = Query(key, name, name, payload(key, database_url, args.kernels), 0)
            for load in loads.values():  # warm-up
                load.run(query, args.concurrency, 1)
            samples: dict[str, list[float]] = {"base": [], "this": []}
            database: dict[str, list[float]] = {"base": [], "this": []}
            for order in alternating(args.runs):
                for side in order:
                    before, db_before = servers[side].cpu_s(), postgres_cpu()
                    run = loads[side].run(query, args.concurrency, args.duration)
                    if run.errors:
                        raise BenchError(f"{side} answered {run.errors} requests with errors")
                    cpu = cpu_us_per_request(servers[side].cpu_s() - before, run.requests)
                    samples[side].append(cpu)
                    db = postgres_cpu_since(db_before)
                    if db is not None:
                        database[side].append(cpu_us_per_request(db, run.requests))
            print(line(key, samples), flush=True)
            if database["base"] and database["this"]:
                print(line("  pg", database), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    parser.add_argument("--base", required=True, help="a git revision to compare with")
    parser.add_argument("--only", default="t,s,f,a", help=f"query keys ({','.join(QUERIES)})")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--kernels", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url
    if url is None:
        url = built_dataset_url(args.agents, args.kernels, args.seed)
        if url is None:
            print("set BENCH_DATABASE_URL (as for make bench) or --database-url", file=sys.stderr)
            return 2
    from app import apikeys

    issued = asyncio.run(
        apikeys.create_key(
            url, role="superadmin", user_uuid=uuid.uuid4(), domain="default", description="bench"
        )
    )
    try:
        return measure(args, url, f"Bearer {issued.token}")
    except BenchError as error:
        print(f"bench.worker: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
