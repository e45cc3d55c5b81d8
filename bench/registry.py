"""Read-path benchmark of the slot-type registry, measured against the real service.

Run: `python -m bench.registry` (part of `make bench`); `--warmup` and `--duration` set the
seconds per run (`--quick` for a smoke run), `--load wrk|httpx` forces a load generator,
`--launcher` and `--workers` say how the service is started (default: as in production, one
uvicorn worker per CPU).

Database: with BENCH_DATABASE_URL, a fresh database `slotgraph_bench_<random>` is created on
that server and dropped at the end, so the server's other databases are never touched; without
it, the embedded PostgreSQL runs in a throw-away directory. Either way the schema is migrated to
head, so the registry holds exactly the seeded slot types.

The service runs in production mode (uvicorn with one worker per CPU, uvloop, httptools, no
access log; `python -m app serve --workers N` when the CLI takes it) on a free 127.0.0.1 port,
with a superadmin API key created for the run, and is measured over loopback only: with wrk
when it is installed (`apt-get install -y wrk`), otherwise with an asyncio + httpx client loop. Both run on the same machine as the service and the
database, so the numbers compare builds on one machine; they are not a capacity figure.
Results go to bench/results/registry-<UTC time>.md/.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from app.db import admin, connected, with_database
from app.ids import encode_global_id
from app.migrate import upgrade
from bench.common import (
    REQUEST_TIMEOUT_S,
    BenchError,
    Query,
    QueryResult,
    RunFacts,
    Server,
    auth_headers,
    bench_parser,
    create_bench_key,
    describe_server,
    environment_rows,
    loadavg_now,
    machine_facts,
    measure_all,
    pick_load,
    post,
    probe_statements,
    results_table,
    run_cli,
    running_server,
    utc_timestamp,
)

NODE_IDS = 50
PAGE_AFTER_ROW = 5

LIST_QUERY = (
    "{ resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) "
    "{ edges { node { id slotName slotType displayName displayUnit "
    "numberFormat { binary roundLength } } } } }"
)
LIST_COUNT_QUERY = (
    "{ resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) "
    "{ count pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    "edges { node { id slotName slotType displayName displayUnit "
    "numberFormat { binary roundLength } } } } }"
)
NODES_QUERY = (
    "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id ... on ResourceSlotType { slotName } } }"
)
CURSOR_QUERY = (
    f"{{ resourceSlotTypes(first: {PAGE_AFTER_ROW}, orderBy: [{{field: RANK, direction: ASC}}]) "
    "{ edges { cursor } } }"
)
PAGE_QUERY = (
    "query Page($after: String!) { resourceSlotTypes(first: 5, after: $after) "
    "{ pageInfo { hasNextPage endCursor } edges { cursor node { id slotName displayName } } } }"
)


@dataclass(frozen=True)
class Report(RunFacts):
    results: list[QueryResult]
    queries: dict[str, dict[str, Any]]


# --- the database --------------------------------------------------------------------------


async def _database_facts(url: str) -> tuple[str, list[str]]:
    async with connected(url) as connection:
        version = await connection.fetchval("SELECT version()")
        rows = await connection.fetch(
            "SELECT slot_name FROM resource_slot_types ORDER BY rank, slot_name"
        )
    return str(version), [str(row["slot_name"]) for row in rows]


def _drop_database(server_url: str, name: str) -> None:
    asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def provision_database(stack: ExitStack, scratch: Path) -> tuple[str, str]:
    """(database URL, what it is); its teardown is registered on `stack`."""
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if server_url:
        name = f"slotgraph_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
        stack.callback(_drop_database, server_url, name)
        return with_database(server_url, name), f"fresh database {name} on BENCH_DATABASE_URL"
    from app.embedded import start_embedded, stop_embedded

    data_dir = scratch / "pgdata"
    url = start_embedded(data_dir, throwaway=True)
    stack.callback(stop_embedded, data_dir, delete=True)
    return url, "embedded PostgreSQL, throw-away data directory (Unix socket)"


# --- the queries ---------------------------------------------------------------------------


def build_queries(client: httpx.Client, slot_names: Sequence[str]) -> list[Query]:
    if len(slot_names) <= PAGE_AFTER_ROW:
        raise BenchError(f"expected the seeded slot types, found {len(slot_names)} rows")
    edges = post(client, json.dumps({"query": CURSOR_QUERY}).encode(), "bench-cursor")["data"]
    cursor = edges["resourceSlotTypes"]["edges"][-1]["cursor"]
    ids = [
        encode_global_id("ResourceSlotType", slot_names[i % len(slot_names)])
        for i in range(NODE_IDS)
    ]
    rows = len(slot_names)
    return [
        Query("a", "list", "the UI's slot-type list (limit 100)", {"query": LIST_QUERY}, rows),
        Query("b", "list+count", "a. plus count and pageInfo", {"query": LIST_COUNT_QUERY}, rows),
        Query(
            "c",
            "nodes",
            f"nodes with {NODE_IDS} global IDs (the {rows} seeded names, cycled)",
            {"query": NODES_QUERY, "variables": {"ids": ids}},
            NODE_IDS,
        ),
        Query(
            "d",
            "cursor page",
            f"first: 5 after the cursor of row {PAGE_AFTER_ROW} by RANK",
            {"query": PAGE_QUERY, "variables": {"after": cursor}},
            min(5, rows - PAGE_AFTER_ROW),
        ),
    ]


# --- the report ----------------------------------------------------------------------------


def render_markdown(report: Report) -> str:
    lines = [
        f"## slotgraph registry benchmark, {report.timestamp}",
        "",
        *environment_rows(report),
        "",
        *results_table(report.results),
        "",
    ]
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Report:
    warmup_s, duration_s = args.warmup, args.duration
    timestamp = utc_timestamp()
    # Taken before anything starts: other work on the machine skews every number measured here.
    loadavg = loadavg_now()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slotgraph-bench-")))
        database_url, database = provision_database(stack, scratch)
        # alembic's env runs its own event loop, so this stays outside any asyncio.run.
        upgrade(database_url)
        postgres_version, slot_names = asyncio.run(_database_facts(database_url))
        authorization = asyncio.run(create_bench_key(database_url))
        server: Server = stack.enter_context(
            running_server(
                database_url,
                scratch / "server.log",
                workers=args.workers,
                launcher=args.launcher,
            )
        )
        rss_at_ready = server.rss_kib()

        with httpx.Client(
            base_url=server.base_url,
            timeout=REQUEST_TIMEOUT_S,
            headers=auth_headers(authorization),
        ) as client:
            queries = build_queries(client, slot_names)
            statements = {query.key: probe_statements(client, server, query) for query in queries}

        load = pick_load(args.load, scratch, server.port, authorization)
        results = measure_all(server, load, queries, statements, warmup_s, duration_s)
        return Report(
            timestamp=timestamp,
            machine=machine_facts(postgres_version, loadavg),
            database=database,
            load_generator=load.describe(),
            warmup_s=warmup_s,
            duration_s=duration_s,
            rss_at_ready_kib=rss_at_ready,
            service=describe_server(server),
            results=results,
            queries={query.key: query.payload for query in queries},
        )


def _bench(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    report = run(args)
    return "registry", render_markdown(report), asdict(report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("python -m bench.registry", __doc__)
    return run_cli(
        parser,
        argv,
        _bench,
        interrupted="the service and the database were cleaned up",
    )


if __name__ == "__main__":
    raise SystemExit(main())
