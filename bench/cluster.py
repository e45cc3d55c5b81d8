"""Read-path benchmark of agents and kernels at cluster scale: slotgraph against its floor.

Run: `python -m bench.cluster` (part of `make bench`); `--agents`, `--kernels` and `--seed` size
the data set (default 2,000 agents, 200,000 kernels, seed 0); `--warmup`, `--duration`,
`--quick`, `--load`, `--launcher` and `--workers` work as in bench.registry; `--sustain` and
`--sample` set the sustained run (default 60 s, an RSS sample every 5 s; 0 skips it);
`--rounds` the alternating runs of each query and concurrency (default 3, 2 with --quick).

Data set: app.demo's generator, migrated to head and loaded once, then cached under a key of
(agents, kernels, seed, alembic head revision, app.demo.VERSION). Without BENCH_DATABASE_URL the embedded
PostgreSQL keeps its data directory in bench/.cache/<key>/ (git-ignored); with it, a database
named after the key is created on that server when missing and kept for the next run. A cache
is reused when it holds exactly the requested numbers of agents and kernels; otherwise it is
(re)loaded in one transaction, so an interrupted load never leaves a half-filled cache behind.
A change to the generator's output bumps app.demo.VERSION, and with it the key.

Two servers run side by side on free 127.0.0.1 ports, both as in production: uvicorn with one
worker per CPU, uvloop, httptools, no access log, SLOTGRAPH_ENV=production:
- slotgraph (`python -m app serve --workers N` when the CLI takes it, else uvicorn with
  bench.serve's app factory), every request with `Authorization: Bearer <key>` of a superadmin
  API key created for the run;
- the floor (bench.floor): per query, the same rows in one SQL statement through a raw asyncpg
  pool and the same `data` serialized with orjson, no GraphQL and no authentication.
Before anything is measured, each query's `data` from the floor must equal slotgraph's (node
ids, order, amounts, cursors), and each nested query's statement count is taken at two page
sizes to show it does not grow with them. Then, query by query and at concurrency 1 and 16,
both warm up and `--rounds` runs of each alternate (slotgraph, floor, floor, slotgraph, ...),
so that a drift of the machine's speed falls on both sides of a ratio: requests/s and CPU of
the server's process tree per request over all rounds, p50/p99 the median of the rounds', RSS
of the tree before and after; every figure is also reported as the ratio slotgraph / floor. A sustained run on the nested agents query at
concurrency 16 samples slotgraph's RSS to show whether it grows after warm-up.

EXPLAIN: the main SQL of the cursor page (e) and the first page (f) is captured by running the
same GraphQL documents in-process through the app's own resolvers (a statement listener on
app.db.Database) and compiled by the `databases` backend the service uses, so the plans are of
the SQL the service sends, with its parameters. Each is prepared (asyncpg prepares every
statement the service sends) and run a few times first, so the plan explained is the one
PostgreSQL's plan cache settles on, custom or generic; the report says which. The floor's SQL
for e and f is explained the same way, for comparison.

Results go to bench/results/cluster-<UTC time>.md/.json (git-ignored), with a pass/fail line per
target.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from ariadne import graphql
from sqlalchemy.sql import ClauseElement

from app import demo
from app.auth import Caller
from app.context import RequestContext
from app.db import Database, admin, connected, with_database
from app.ids import encode_global_id
from app.migrate import head_revision, upgrade
from app.pagination import decode_cursor
from app.repositories import kernels as kernel_repository
from app.schema import build_schema
from app.settings import Settings
from bench.common import (
    CONCURRENCIES,
    GRAPHQL_PATH,
    REQUEST_TIMEOUT_S,
    BenchError,
    HttpxLoad,
    Load,
    Query,
    QueryResult,
    Run,
    RunFacts,
    Server,
    WrkLoad,
    auth_headers,
    bench_parser,
    clean_env,
    create_bench_key,
    describe_server,
    environment_rows,
    free_port,
    loadavg_now,
    machine_facts,
    measured_run,
    mib,
    pick_load,
    post,
    probe,
    results_table,
    run_cli,
    running_server,
    start_server,
    utc_timestamp,
    uvicorn_command,
)
from bench.floor import (
    AFTER_PAGE_SQL,
    AGENT_PAGE,
    FIRST_PAGE_SQL,
    HANDLERS,
    KERNEL_PAGE,
    RUNNING_PAGE,
    SLOT_LIST_LIMIT,
    SLOT_PAGE,
    path_for,
)
from bench.floor import STATEMENTS as FLOOR_STATEMENTS

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
TABLES = ("agents", "agent_resources", "kernels", "resource_allocations")
DEFAULT_AGENTS = 2_000
DEFAULT_KERNELS = 200_000
NODES_PER_TYPE = 20
# Where the cursor page starts; capped for smaller data sets so the page is never empty.
CURSOR_ROW = 150_000
EXPLAIN_TIMEOUT_MS = 60_000
PLAN_CACHE_RUNS = 8
# The smaller pages a nested query is also counted at: its statements must not change.
SMALL_AGENT_PAGE = 10
SMALL_SLOT_PAGE = 2
SMALL_RUNNING_PAGE = 10
MAX_NESTED_STATEMENTS = 3
NESTED_QUERIES = ("a", "b", "c")
# Targets of the issue this benchmark answers, as ratios slotgraph / floor.
MIN_THROUGHPUT_RATIO = 0.6
MAX_P50_RATIO = 2.0
MAX_DEEP_PAGE_RATIO = 1.2
# RSS may wander by allocator noise; more than this after warm-up counts as growth.
RSS_TOLERANCE_KIB = 4 * 1024
RSS_TOLERANCE_FRACTION = 0.02
DEFAULT_SUSTAIN_S = 60
DEFAULT_SAMPLE_S = 5
QUICK_SUSTAIN_S = 10
QUICK_SAMPLE_S = 2
# Alternating runs per query and concurrency (see measure_pair), each `--duration` long.
DEFAULT_ROUNDS = 3
QUICK_ROUNDS = 2
# The first part of the sustained run is its warm-up; growth is measured after it.
SUSTAIN_WARMUP_FRACTION = 0.25
SUSTAINED_QUERY = "a"

SLOT_LIST_QUERY = (
    f"query SlotTypes {{ resourceSlotTypes(limit: {SLOT_LIST_LIMIT}, "
    "orderBy: [{field: RANK, direction: ASC}]) { edges { node { id slotName slotType "
    "displayName displayUnit numberFormat { binary roundLength } } } } }"
)


def _agents_query(extra: str, agent_page: int = AGENT_PAGE, slot_page: int = SLOT_PAGE) -> str:
    fields = (
        "id statusInfo { status } "
        f"resourceSlots(first: {slot_page}, orderBy: [{{field: USED, direction: DESC}}]) "
        "{ count edges { node { slotName capacity used free } } }"
    )
    return (
        f"query Agents {{ agentsV2(first: {agent_page}) "
        f"{{ edges {{ node {{ {fields}{extra} }} }} }} }}"
    )


AGENT_INFO_FIELDS = " containerCount resourceInfo { capacity used free }"


def _running_query(page: int = RUNNING_PAGE) -> str:
    # resourceAllocations without arguments: the service's default page, which the floor's
    # ALLOCATION_PAGE mirrors.
    return (
        f"query RunningKernels {{ adminKernelsV2(first: {page}, "
        "filter: {status: {in: [RUNNING]}}) { edges { node { id lifecycle { status createdAt } "
        "resourceAllocations { count edges { node { slotName requested used } } } } } } }"
    )


NODES_QUERY = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
BY_CREATED = "orderBy: [{field: CREATED_AT, direction: ASC}]"
# One document for e and f: f leaves `$after` out, which is the same as no `after` argument.
PAGE_QUERY = (
    f"query KernelPage($after: String) {{ adminKernelsV2(first: {KERNEL_PAGE}, {BY_CREATED}, "
    "after: $after) { pageInfo { hasNextPage endCursor } "
    "edges { node { id lifecycle { status createdAt } } } } }"
)
OFFSET_QUERY = (
    f"query KernelAt($offset: Int!) {{ adminKernelsV2(limit: 1, offset: $offset, {BY_CREATED}) "
    "{ pageInfo { endCursor } edges { node { id } } } }"
)


@dataclass(frozen=True)
class Dataset:
    key: str
    agents: int
    kernels: int
    seed: int
    revision: str
    location: str
    reused: bool
    generate_s: float | None
    load_s: float | None
    vacuum_s: float | None
    rows: dict[str, int]
    total_mib: dict[str, float]
    database_mib: float


@dataclass(frozen=True)
class Plan:
    key: str
    title: str
    origin: str
    sql: str
    parameters: list[str]
    text: str
    plan_cache: str
    execution_ms: float | None
    indexes: list[str]
    rows_removed_by_filter: int


@dataclass(frozen=True)
class Comparison:
    """One query at one concurrency: slotgraph's figures, the floor's, and slotgraph / floor."""

    key: str
    name: str
    concurrency: int
    requests_per_s: float
    floor_requests_per_s: float
    throughput_ratio: float
    p50_ms: float
    floor_p50_ms: float
    p50_ratio: float
    p99_ms: float
    floor_p99_ms: float
    p99_ratio: float
    statements: int
    floor_statements: int
    statements_ratio: float
    cpu_ms_per_request: float
    floor_cpu_ms_per_request: float
    cpu_ratio: float
    db_cpu_ms_per_request: float
    floor_db_cpu_ms_per_request: float
    db_cpu_ratio: float
    errors: int
    floor_errors: int
    rss_before_kib: int
    rss_after_kib: int
    floor_rss_before_kib: int
    floor_rss_after_kib: int


@dataclass(frozen=True)
class Sustained:
    """slotgraph's RSS (process tree) sampled during one long run of one query."""

    key: str
    concurrency: int
    duration_s: int
    sample_s: int
    warmup_s: float
    samples: list[tuple[float, int]]  # (seconds since the start, RSS KiB)
    baseline_kib: int
    final_kib: int
    growth_kib: int
    tolerance_kib: int
    run: Run


@dataclass(frozen=True)
class DeepPage:
    """The deep cursor page (e) and the first page (f) on slotgraph at one concurrency,
    measured in alternating runs of their own (see `deep_against_first`)."""

    concurrency: int
    deep: Run
    first: Run


@dataclass(frozen=True)
class Target:
    target: str
    query: str
    value: str
    limit: str
    passed: bool


@dataclass(frozen=True)
class Report(RunFacts):
    dataset: Dataset
    cursor_row: int
    floor_service: str
    authorization: str
    rss_at_ready_floor_kib: int
    results: list[QueryResult]
    floor_results: list[QueryResult]
    comparisons: list[Comparison]
    small_page_statements: dict[str, int]
    sustained: Sustained | None
    targets: list[Target]
    queries: dict[str, dict[str, Any]]
    plans: list[Plan]
    wall_s: float
    rounds: int = 1
    deep_pages: list[DeepPage] = field(default_factory=list)


# --- the data set --------------------------------------------------------------------------


def dataset_key(agents: int, kernels: int, seed: int, revision: str) -> str:
    from app.demo import VERSION

    return f"a{agents}-k{kernels}-s{seed}-r{revision}-g{VERSION}"


def built_dataset_url(agents: int, kernels: int, seed: int) -> str | None:
    """The database URL of a data set `make bench` built on the server BENCH_DATABASE_URL
    names, for the benchmarks that run on it without building it; None without that
    variable."""
    from app.db import with_database

    server = os.environ.get("BENCH_DATABASE_URL")
    if not server:
        return None
    key = dataset_key(agents, kernels, seed, head_revision())
    return with_database(server, "slotgraph_bench_" + key.replace("-", "_"))


async def _ensure_database(server_url: str, name: str) -> bool:
    """Create the database unless it exists; True when it was created."""
    async with connected(server_url) as connection:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    if exists:
        return False
    await admin(server_url, f'CREATE DATABASE "{name}"')
    return True


async def _row_counts(url: str) -> dict[str, int]:
    async with connected(url) as connection:
        # The names come from TABLES, never from input.
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in TABLES
        }


async def _sizes(url: str) -> tuple[dict[str, float], float]:
    """Per table, heap + indexes + TOAST in MiB; and the whole database in MiB."""
    async with connected(url) as connection:
        rows = await connection.fetch(
            "SELECT name, pg_total_relation_size(name::regclass) AS bytes "
            "FROM unnest($1::text[]) AS name",
            list(TABLES),
        )
        database = await connection.fetchval("SELECT pg_database_size(current_database())")
    mib = 1024 * 1024
    return {str(row["name"]): row["bytes"] / mib for row in rows}, int(database) / mib


async def _vacuum(url: str) -> None:
    async with connected(url) as connection:
        # Freshly copied rows have no hint bits and no visibility map; left alone, the first
        # reads and a later autovacuum would rewrite pages during the measurements of the run
        # that built the cache, and only that one. Done once here, every run sees the same state.
        await connection.execute(f"VACUUM (FREEZE, ANALYZE) {', '.join(TABLES)}")
        # The load and the vacuum left a few hundred MiB of dirty pages, which the
        # checkpointer would write out over the next minutes: during the first queries'
        # measurements, and only in the run that built the data set. Written out now.
        try:
            await connection.execute("CHECKPOINT")
        except asyncpg.InsufficientPrivilegeError:
            _print("no privilege for CHECKPOINT: the first queries may share the disk with it")


def _print(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def provision_dataset(
    stack: ExitStack, agents: int, kernels: int, seed: int
) -> tuple[str, Dataset]:
    """(database URL, the data set in it), built unless cached; the embedded server's stop is
    registered on `stack`, its data directory is kept."""
    revision = head_revision()
    key = dataset_key(agents, kernels, seed, revision)
    server_url = os.environ.get("BENCH_DATABASE_URL")
    if server_url:
        name = "slotgraph_bench_" + key.replace("-", "_")
        created = asyncio.run(_ensure_database(server_url, name))
        url = with_database(server_url, name)
        location = f"database {name} on BENCH_DATABASE_URL ({'created' if created else 'kept'})"
    else:
        from app.embedded import start_embedded, stop_embedded

        data_dir = CACHE_DIR / key / "pgdata"
        existed = (data_dir / "PG_VERSION").exists()
        url = start_embedded(data_dir)
        stack.callback(stop_embedded, data_dir)
        location = (
            f"embedded PostgreSQL, cached data directory bench/.cache/{key}/pgdata "
            f"({'kept' if existed else 'created'}, Unix socket)"
        )
    # alembic's env runs its own event loop, so this stays outside any asyncio.run.
    upgrade(url)
    rows = asyncio.run(_row_counts(url))
    reused = rows["agents"] == agents and rows["kernels"] == kernels
    generate_s = load_s = vacuum_s = None
    if reused:
        _print(f"reusing the cached data set {key} ({location})")
    else:
        _print(f"building the data set {key}: {agents:,} agents, {kernels:,} kernels, seed {seed}")
        started = time.perf_counter()
        data = demo.generate(agents, kernels, seed)
        generate_s = time.perf_counter() - started
        _print(f"generated in {generate_s:.1f} s; loading (COPY, one transaction)")
        started = time.perf_counter()
        asyncio.run(demo.load(url, data, replace=True))
        load_s = time.perf_counter() - started
        # Hundreds of MiB of Python tuples, no longer needed while the service is measured.
        del data
        started = time.perf_counter()
        asyncio.run(_vacuum(url))
        vacuum_s = time.perf_counter() - started
        _print(f"loaded in {load_s:.1f} s, vacuumed in {vacuum_s:.1f} s")
        rows = asyncio.run(_row_counts(url))
        if rows["agents"] != agents or rows["kernels"] != kernels:
            raise BenchError(f"after loading, the database holds {rows}")
    total_mib, database_mib = asyncio.run(_sizes(url))
    dataset = Dataset(
        key=key,
        agents=agents,
        kernels=kernels,
        seed=seed,
        revision=revision,
        location=location,
        reused=reused,
        generate_s=generate_s,
        load_s=load_s,
        vacuum_s=vacuum_s,
        rows=rows,
        total_mib=total_mib,
        database_mib=database_mib,
    )
    return url, dataset


# --- the queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Rows of the data set the queries name, spread over it."""

    postgres_version: str
    agent_ids: list[str]
    kernel_ids: list[str]
    slot_names: list[str]
    slot_types: int
    running: int


def _spread(values: Sequence[str], count: int) -> list[str]:
    # Evenly spaced picks; repeats when there are fewer values than picks.
    return [values[i * len(values) // count] for i in range(count)]


async def _keys(url: str, kernels: int) -> Keys:
    async with connected(url) as connection:
        version = await connection.fetchval("SELECT version()")
        agent_ids = [
            row["id"] for row in await connection.fetch("SELECT id FROM agents ORDER BY id")
        ]
        kernel_ids = await connection.fetch(
            "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n "
            "FROM kernels) AS k WHERE n % $1 = 1 ORDER BY n LIMIT $2",
            max(1, kernels // NODES_PER_TYPE),
            NODES_PER_TYPE,
        )
        slot_names = await connection.fetch(
            "SELECT slot_name FROM resource_slot_types ORDER BY rank, slot_name"
        )
        running = await connection.fetchval("SELECT count(*) FROM kernels WHERE status = 'RUNNING'")
    if not agent_ids or not kernel_ids or not slot_names:
        raise BenchError("the data set has no agents, kernels or slot types")
    return Keys(
        postgres_version=str(version),
        agent_ids=_spread([str(a) for a in agent_ids], NODES_PER_TYPE),
        kernel_ids=_spread([str(row["id"]) for row in kernel_ids], NODES_PER_TYPE),
        slot_names=_spread([str(row["slot_name"]) for row in slot_names], NODES_PER_TYPE),
        slot_types=min(SLOT_LIST_LIMIT, len(slot_names)),
        running=int(running),
    )


def node_ids(keys: Keys) -> tuple[list[str], list[str]]:
    """(global IDs, the __typename each must resolve to), the five types interleaved."""
    ids: list[str] = []
    types: list[str] = []
    for i in range(NODES_PER_TYPE):
        agent_id, kernel_id = keys.agent_ids[i], keys.kernel_ids[i]
        # Every generated agent has a cpu slot and every generated kernel requests cpu.
        for type_name, raw in (
            ("AgentV2", agent_id),
            ("AgentResourceSlot", f"{agent_id}:cpu"),
            ("ResourceSlotType", keys.slot_names[i]),
            ("KernelV2", kernel_id),
            ("KernelResourceAllocation", f"{kernel_id}:cpu"),
        ):
            ids.append(encode_global_id(type_name, raw))
            types.append(type_name)
    return ids, types


def _kernel_at(client: httpx.Client, offset: int) -> dict[str, Any]:
    body = json.dumps({"query": OFFSET_QUERY, "variables": {"offset": offset}}).encode()
    page: dict[str, Any] = post(client, body, f"bench-offset-{offset}")["data"]["adminKernelsV2"]
    return page


def build_queries(
    client: httpx.Client, keys: Keys, agents: int, kernels: int, cursor_row: int
) -> list[Query]:
    # The cursor of row `cursor_row` in CREATED_AT order, from an offset page of one row.
    cursor = _kernel_at(client, cursor_row - 1)["pageInfo"]["endCursor"]
    if not isinstance(cursor, str):
        raise BenchError(f"no kernel at row {cursor_row}")
    ids, _ = node_ids(keys)
    agent_rows = min(AGENT_PAGE, agents)
    return [
        Query(
            "s",
            "slot-type list",
            f"the UI's slot-type list: resourceSlotTypes(limit: {SLOT_LIST_LIMIT}, RANK ASC)",
            {"query": SLOT_LIST_QUERY},
            keys.slot_types,
        ),
        Query(
            "a",
            "agents+slots",
            f"agentsV2(first: {AGENT_PAGE}), each with resourceSlots(first: {SLOT_PAGE}, "
            "USED DESC) and its count",
            {"query": _agents_query("")},
            agent_rows,
        ),
        Query(
            "b",
            "agents+slots+info",
            "a. plus containerCount and resourceInfo",
            {"query": _agents_query(AGENT_INFO_FIELDS)},
            agent_rows,
        ),
        Query(
            "c",
            "running kernels",
            f"adminKernelsV2(first: {RUNNING_PAGE}, status in [RUNNING]), each with "
            "resourceAllocations and their count",
            {"query": _running_query()},
            min(RUNNING_PAGE, keys.running),
        ),
        Query(
            "d",
            "nodes",
            f"nodes with {len(ids)} global IDs, {NODES_PER_TYPE} each of AgentV2, "
            "AgentResourceSlot, ResourceSlotType, KernelV2, KernelResourceAllocation",
            {"query": NODES_QUERY, "variables": {"ids": ids}},
            len(ids),
        ),
        Query(
            "e",
            "kernel page, deep cursor",
            f"adminKernelsV2(first: {KERNEL_PAGE}, CREATED_AT ASC) after the cursor of row "
            f"{cursor_row:,}",
            {"query": PAGE_QUERY, "variables": {"after": cursor}},
            min(KERNEL_PAGE, kernels - cursor_row),
        ),
        Query(
            "f",
            "kernel page, first",
            f"e. without `after`: the first {KERNEL_PAGE} kernels by CREATED_AT ASC",
            {"query": PAGE_QUERY},
            min(KERNEL_PAGE, kernels),
        ),
    ]


def check_answers(
    client: httpx.Client, server: Server, queries: Sequence[Query], keys: Keys, cursor_row: int
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Send each query, check what it returns; (each query's data, its SQL statements)."""
    statements: dict[str, int] = {}
    answers: dict[str, dict[str, Any]] = {}
    for query in queries:
        answers[query.key], statements[query.key] = probe(client, server, query)
    _, types = node_ids(keys)
    got = [node["__typename"] for node in answers["d"]["nodes"]]
    if got != types:
        raise BenchError(f"nodes resolved to {got}, expected {types}")
    # A seek must land where an offset does: e's first kernel is row cursor_row + 1.
    edges = answers["e"]["adminKernelsV2"]["edges"]
    expected = _kernel_at(client, cursor_row)["edges"]
    if edges and [edges[0]["node"]["id"]] != [edge["node"]["id"] for edge in expected]:
        raise BenchError(
            f"the page after row {cursor_row} starts at {edges[0]['node']['id']}, but row "
            f"{cursor_row + 1} by offset is {expected}"
        )
    return answers, statements


def small_page_queries(queries: Sequence[Query]) -> list[Query]:
    """The nested queries again with smaller pages at every level: a statement count that
    grows with page size or nesting shows up as a difference."""
    small = {
        "a": _agents_query("", SMALL_AGENT_PAGE, SMALL_SLOT_PAGE),
        "b": _agents_query(AGENT_INFO_FIELDS, SMALL_AGENT_PAGE, SMALL_SLOT_PAGE),
        "c": _running_query(SMALL_RUNNING_PAGE),
    }
    return [
        Query(
            query.key,
            query.name,
            "smaller pages",
            {"query": small[query.key]},
            min(query.expected_rows, SMALL_RUNNING_PAGE if query.key == "c" else SMALL_AGENT_PAGE),
        )
        for query in queries
        if query.key in small
    ]


def _first_difference(left: Any, right: Any, path: str = "data") -> str | None:
    """Where two JSON values first differ, as a path and both values; None when equal."""
    if isinstance(left, dict) and isinstance(right, dict):
        if list(left) != list(right):
            return f"{path}: keys {list(left)} != {list(right)}"
        for key in left:
            found = _first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items != {len(right)}"
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if left != right or type(left) is not type(right):
        return f"{path}: {left!r} != {right!r}"
    return None


def check_floor(
    slotgraph: dict[str, dict[str, Any]], client: httpx.Client, queries: Sequence[Query]
) -> None:
    """The floor must answer every query with exactly slotgraph's `data` (keys and their
    order, node ids and their order, amounts, cursors), or the comparison is not fair."""
    for query in queries:
        path = path_for(query.key)
        floor = post(client, query.body, f"bench-floor-{query.key}", path)["data"]
        difference = _first_difference(slotgraph[query.key], floor)
        if difference is not None:
            raise BenchError(
                f"the floor's answer to {query.key}. {query.name} differs from slotgraph's at "
                f"{difference}"
            )


# --- EXPLAIN -------------------------------------------------------------------------------


# The benchmark reads as a superadmin: every row is visible, as on the benchmarked service.
SUPERADMIN = Caller("0" * 16, uuid.UUID(int=0), "default", "superadmin")


async def capture_sql(database_url: str, payload: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The SQL and arguments the service sends for one GraphQL request, in order: the
    request runs in-process through the app's schema, resolvers and database layer."""
    settings = Settings.from_env({"DATABASE_URL": database_url, "SLOTGRAPH_ENV": "production"})
    database = Database(settings)
    captured: list[ClauseElement] = []
    database.listeners.append(captured.append)
    await database.connect()
    try:
        session = database.session()
        try:
            context = RequestContext(
                settings=settings, session=session, request_id="bench-sql", caller=SUPERADMIN
            )
            success, result = await graphql(build_schema(), payload, context_value=context)
        finally:
            await session.close()
    finally:
        await database.disconnect()
    if not success or result.get("errors"):
        raise BenchError(f"in-process request failed: {result}")
    # Compiled to text and asyncpg arguments as the service compiles a statement whose SQL
    # it has not seen (`databases`' compiler, through the service's own database layer).
    statements: list[tuple[str, list[Any]]] = []
    for statement in captured:
        sql, args, _, _ = database._compile(statement)
        statements.append((str(sql), list(args)))
    return statements


def _literal(value: Any) -> str:
    # A quoted literal of unknown type takes the type PostgreSQL inferred for the parameter,
    # as a bound value would; the arguments here are the cursor's values.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str | uuid.UUID):
        return "'" + str(value).replace("'", "''") + "'"
    raise BenchError(f"no literal for the argument {value!r}")


async def _explain(database_url: str, sql: str, args: Sequence[Any]) -> tuple[str, str]:
    """(EXPLAIN (ANALYZE, BUFFERS) of the statement as a prepared statement in its steady
    state, what PostgreSQL's plan cache chose for it)."""
    # asyncpg prepares every statement the service sends, and PostgreSQL may switch a prepared
    # statement from custom plans to a generic one after five runs; so the statement is
    # prepared here too, run a few times, and the plan of the next run is the one explained.
    # A statement without parameters (a first page: its LIMIT is written into the SQL) is
    # executed without the parentheses, which PostgreSQL refuses empty.
    listed = ", ".join(_literal(arg) for arg in args)
    execute = f"EXECUTE bench_plan({listed})" if args else "EXECUTE bench_plan"
    settings = {"statement_timeout": str(EXPLAIN_TIMEOUT_MS)}
    async with connected(database_url, server_settings=settings) as connection:
        await connection.execute(f"PREPARE bench_plan AS {sql}")
        for _ in range(PLAN_CACHE_RUNS):
            await connection.fetch(execute)
        cache = await connection.fetchrow(
            "SELECT custom_plans, generic_plans FROM pg_prepared_statements "
            "WHERE name = 'bench_plan'"
        )
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
    if cache is None:
        raise BenchError("the prepared statement is missing from pg_prepared_statements")
    chosen = "generic" if cache["generic_plans"] else "custom"
    summary = (
        f"{chosen} plan (of {PLAN_CACHE_RUNS} runs before: {cache['custom_plans']} custom, "
        f"{cache['generic_plans']} generic)"
    )
    return "\n".join(str(row[0]) for row in rows), summary


def _plan(
    key: str, title: str, origin: str, sql: str, args: Sequence[Any], explained: tuple[str, str]
) -> Plan:
    text, plan_cache = explained
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    indexes = re.findall(
        r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", text
    )
    removed = re.findall(r"Rows Removed by Filter: (\d+)", text)
    return Plan(
        key=key,
        title=title,
        origin=origin,
        sql=sql,
        parameters=[repr(arg) for arg in args],
        text=text,
        plan_cache=plan_cache,
        execution_ms=float(execution.group(1)) if execution else None,
        indexes=list(dict.fromkeys(indexes))
        or (["none (sequential scan)"] if "Seq Scan" in text else []),
        rows_removed_by_filter=sum(int(n) for n in removed),
    )


def explain_pages(database_url: str, queries: Sequence[Query]) -> list[Plan]:
    by_key = {query.key: query for query in queries}
    plans: list[Plan] = []
    for key in ("e", "f"):
        statements = asyncio.run(capture_sql(database_url, by_key[key].payload))
        if len(statements) != 1:
            raise BenchError(f"query {key} sent {len(statements)} statements, expected 1")
        [(sql, args)] = statements
        explained = asyncio.run(_explain(database_url, sql, args))
        origin = "captured from the app (in-process request, `databases` compiler)"
        plans.append(_plan(key, by_key[key].name, origin, sql, args, explained))
    ordering = kernel_repository.CONNECTION.resolve_order([("CREATED_AT", False)])
    created_at, kernel_id = decode_cursor(by_key["e"].payload["variables"]["after"], ordering)
    origin = "the floor's SQL (bench.floor), for comparison"
    floor_pages: list[tuple[str, str, str, list[Any]]] = [
        ("e floor", by_key["e"].name, AFTER_PAGE_SQL, [created_at, kernel_id]),
        ("f floor", by_key["f"].name, FIRST_PAGE_SQL, []),
    ]
    for key, title, sql, args in floor_pages:
        sql = " ".join(sql.split())
        explained = asyncio.run(_explain(database_url, sql, args))
        plans.append(_plan(key, title, origin, sql, args, explained))
    return plans


# --- comparison, sustained run, targets ---------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a ratio: a server, the load that drives it, its path and statements."""

    server: Server
    load: WrkLoad | HttpxLoad
    path: str
    statements: int


def combine_runs(runs: Sequence[Run]) -> Run:
    """The rounds of one side at one concurrency as one run: requests/s and CPU per request
    over all of them, p50 and p99 the median of the rounds' (a round's percentiles cannot be
    merged exactly without its histogram)."""
    requests = sum(r.requests for r in runs)
    duration = sum(r.duration_s for r in runs)
    cpu_ms = sum(r.cpu_ms_per_request * r.requests for r in runs if r.requests)
    db_cpu_ms = sum(r.db_cpu_ms_per_request * r.requests for r in runs if r.requests)
    return Run(
        concurrency=runs[0].concurrency,
        requests=requests,
        duration_s=duration,
        requests_per_s=requests / duration if duration else 0.0,
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        cpu_ms_per_request=cpu_ms / requests if requests else math.nan,
        db_cpu_ms_per_request=db_cpu_ms / requests if requests else math.nan,
    )


def alternating_runs(rounds: int, run: Callable[[int], Run]) -> list[list[Run]]:
    """`rounds` runs of each of two sides (`run(0)`, `run(1)`), in the order 0, 1, 1, 0,
    0, 1, ...: a machine whose speed drifts during the runs slows both sides alike."""
    runs: list[list[Run]] = [[], []]
    for round_ in range(rounds):
        for at in (0, 1) if round_ % 2 == 0 else (1, 0):
            runs[at].append(run(at))
    return runs


def measure_pair(
    mine: Side, floor: Side, query: Query, warmup_s: int, duration_s: int, rounds: int
) -> tuple[QueryResult, QueryResult]:
    """One query on slotgraph and on the floor, interleaved: per concurrency both warm up,
    then `rounds` runs of each alternate, in the order slotgraph, floor, floor, slotgraph,
    ... so that a machine whose speed drifts during the run (seen here: 20% within a
    minute) slows both sides of a ratio alike instead of whichever ran later."""
    sides = (mine, floor)
    rss_before = [side.server.rss_kib() for side in sides]
    runs: list[list[Run]] = [[], []]
    for concurrency in CONCURRENCIES:
        _print(f"measuring {query.key}. {query.name}, c={concurrency}, {rounds} round(s)")
        if warmup_s > 0:
            for side in sides:
                side.load.run(query, concurrency, warmup_s, side.path)

        def one_run(at: int, concurrency: int = concurrency) -> Run:
            side = sides[at]
            run = measured_run(side.server, side.load, query, concurrency, duration_s, side.path)
            side.server.check_alive()
            return run

        rounds_of = alternating_runs(rounds, one_run)
        for at in (0, 1):
            runs[at].append(combine_runs(rounds_of[at]))
    mine_result, floor_result = (
        QueryResult(
            key=query.key,
            name=query.name,
            description=query.description,
            statements=side.statements,
            runs=runs[at],
            rss_before_kib=rss_before[at],
            rss_after_kib=side.server.rss_kib(),
            server=side.server.name,
        )
        for at, side in enumerate(sides)
    )
    return mine_result, floor_result


def deep_against_first(
    server: Server,
    load: Load,
    deep: Query,
    first: Query,
    warmup_s: int,
    duration_s: int,
    rounds: int,
) -> list[DeepPage]:
    """The deep page against the first one on slotgraph, in alternating runs (deep, first,
    first, deep, ...) per concurrency: measured minutes apart, as in their rows of the
    table, a drift of the machine's speed between the two landed on their ratio (seen
    here: 1.39 at c=1 in one run, where alternating runs on one worker gave 0.9-1.0)."""
    pages: list[DeepPage] = []
    queries = (deep, first)
    for concurrency in CONCURRENCIES:
        _print(f"measuring {deep.key} against {first.key}, alternating, c={concurrency}")
        if warmup_s > 0:
            for query in queries:
                load.run(query, concurrency, warmup_s, GRAPHQL_PATH)

        def one_run(at: int, concurrency: int = concurrency) -> Run:
            run = measured_run(server, load, queries[at], concurrency, duration_s, GRAPHQL_PATH)
            server.check_alive()
            return run

        runs = alternating_runs(rounds, one_run)
        pages.append(DeepPage(concurrency, combine_runs(runs[0]), combine_runs(runs[1])))
    return pages


def ratio(value: float, floor: float) -> float:
    if floor == 0 or math.isnan(floor) or math.isnan(value):
        return math.nan
    return value / floor


def compare(results: Sequence[QueryResult], floor: Sequence[QueryResult]) -> list[Comparison]:
    rows = []
    for mine, base in zip(results, floor, strict=True):
        for run, base_run in zip(mine.runs, base.runs, strict=True):
            rows.append(
                Comparison(
                    key=mine.key,
                    name=mine.name,
                    concurrency=run.concurrency,
                    requests_per_s=run.requests_per_s,
                    floor_requests_per_s=base_run.requests_per_s,
                    throughput_ratio=ratio(run.requests_per_s, base_run.requests_per_s),
                    p50_ms=run.p50_ms,
                    floor_p50_ms=base_run.p50_ms,
                    p50_ratio=ratio(run.p50_ms, base_run.p50_ms),
                    p99_ms=run.p99_ms,
                    floor_p99_ms=base_run.p99_ms,
                    p99_ratio=ratio(run.p99_ms, base_run.p99_ms),
                    statements=mine.statements,
                    floor_statements=base.statements,
                    statements_ratio=ratio(mine.statements, base.statements),
                    cpu_ms_per_request=run.cpu_ms_per_request,
                    floor_cpu_ms_per_request=base_run.cpu_ms_per_request,
                    cpu_ratio=ratio(run.cpu_ms_per_request, base_run.cpu_ms_per_request),
                    db_cpu_ms_per_request=run.db_cpu_ms_per_request,
                    floor_db_cpu_ms_per_request=base_run.db_cpu_ms_per_request,
                    db_cpu_ratio=ratio(run.db_cpu_ms_per_request, base_run.db_cpu_ms_per_request),
                    errors=run.errors,
                    floor_errors=base_run.errors,
                    rss_before_kib=mine.rss_before_kib,
                    rss_after_kib=mine.rss_after_kib,
                    floor_rss_before_kib=base.rss_before_kib,
                    floor_rss_after_kib=base.rss_after_kib,
                )
            )
    return rows


def sustained_run(
    server: Server, load: WrkLoad | HttpxLoad, query: Query, seconds: int, sample_s: int
) -> Sustained:
    """One long run at concurrency 16 in a thread, the server's RSS sampled meanwhile."""
    concurrency = CONCURRENCIES[-1]
    outcome: list[Run] = []
    failures: list[BaseException] = []

    def drive() -> None:
        try:
            outcome.append(measured_run(server, load, query, concurrency, seconds, GRAPHQL_PATH))
        except BaseException as error:  # handed to the main thread, which raises it
            failures.append(error)

    _print(f"sustained run: {query.key}. {query.name}, c={concurrency}, {seconds} s")
    driver = threading.Thread(target=drive, name="bench-sustained", daemon=True)
    started = time.monotonic()
    driver.start()
    samples: list[tuple[float, int]] = []
    for _ in range(seconds // max(1, sample_s) + 10):
        samples.append((round(time.monotonic() - started, 1), server.rss_kib()))
        driver.join(timeout=sample_s)
        if not driver.is_alive():
            break
    driver.join(timeout=seconds + 60)
    samples.append((round(time.monotonic() - started, 1), server.rss_kib()))
    if failures:
        raise failures[0]
    if not outcome:
        raise BenchError("the sustained run did not finish")
    warmup = seconds * SUSTAIN_WARMUP_FRACTION
    after = [rss for at, rss in samples if at >= warmup]
    baseline = after[0] if after else samples[-1][1]
    final = samples[-1][1]
    return Sustained(
        key=query.key,
        concurrency=concurrency,
        duration_s=seconds,
        sample_s=sample_s,
        warmup_s=warmup,
        samples=samples,
        baseline_kib=baseline,
        final_kib=final,
        growth_kib=final - baseline,
        tolerance_kib=max(RSS_TOLERANCE_KIB, int(baseline * RSS_TOLERANCE_FRACTION)),
        run=outcome[0],
    )


def _at(comparisons: Sequence[Comparison], key: str, concurrency: int) -> Comparison:
    for row in comparisons:
        if row.key == key and row.concurrency == concurrency:
            return row
    raise BenchError(f"no measurement of {key} at c={concurrency}")


def evaluate(
    comparisons: Sequence[Comparison],
    statements: dict[str, int],
    small_page_statements: dict[str, int],
    sustained: Sustained | None,
    deep_pages: Sequence[DeepPage] = (),
) -> list[Target]:
    targets: list[Target] = []
    for key, small in small_page_statements.items():
        full = statements[key]
        targets.append(
            Target(
                "SQL statements per request, constant in page size and nesting",
                key,
                f"{full} (smaller pages: {small})",
                f"<= {MAX_NESTED_STATEMENTS}, equal",
                full <= MAX_NESTED_STATEMENTS and small == full,
            )
        )
    low, high = CONCURRENCIES[0], CONCURRENCIES[-1]
    keys = list(dict.fromkeys(row.key for row in comparisons))
    for key in keys:
        row = _at(comparisons, key, high)
        targets.append(
            Target(
                f"throughput at c={high}, slotgraph / floor",
                key,
                f"{row.throughput_ratio:.2f}",
                f">= {MIN_THROUGHPUT_RATIO}",
                row.throughput_ratio >= MIN_THROUGHPUT_RATIO,
            )
        )
    for key in keys:
        row = _at(comparisons, key, low)
        targets.append(
            Target(
                f"p50 latency at c={low}, slotgraph / floor",
                key,
                f"{row.p50_ratio:.2f}",
                f"<= {MAX_P50_RATIO}",
                row.p50_ratio <= MAX_P50_RATIO,
            )
        )
    # The alternating runs of e and f when there are some, else their rows of the table.
    pages = {page.concurrency: page for page in deep_pages}
    page = pages.get(low)
    if page is not None:
        latency = ratio(page.deep.p50_ms, page.first.p50_ms)
    else:
        latency = ratio(_at(comparisons, "e", low).p50_ms, _at(comparisons, "f", low).p50_ms)
    targets.append(
        Target(
            f"deep cursor page / first page, p50 at c={low}",
            "e / f",
            f"{latency:.2f}",
            f"<= {MAX_DEEP_PAGE_RATIO}",
            latency <= MAX_DEEP_PAGE_RATIO,
        )
    )
    # Cost as time per request: the inverse of throughput.
    page = pages.get(high)
    if page is not None:
        cost = ratio(page.first.requests_per_s, page.deep.requests_per_s)
    else:
        cost = ratio(
            _at(comparisons, "f", high).requests_per_s, _at(comparisons, "e", high).requests_per_s
        )
    targets.append(
        Target(
            f"deep cursor page / first page, time per request at c={high} (1 / req/s)",
            "e / f",
            f"{cost:.2f}",
            f"<= {MAX_DEEP_PAGE_RATIO}",
            cost <= MAX_DEEP_PAGE_RATIO,
        )
    )
    failed = sum(row.errors + row.floor_errors for row in comparisons)
    targets.append(
        Target(
            "every measured request answered (no socket errors, timeouts or non-2xx)",
            "all",
            f"{failed} failed",
            "0",
            failed == 0,
        )
    )
    if sustained is not None:
        targets.append(
            Target(
                f"RSS flat over a sustained run ({sustained.duration_s} s at "
                f"c={sustained.concurrency}), growth after {sustained.warmup_s:.0f} s warm-up",
                sustained.key,
                f"{sustained.growth_kib / 1024:+.1f} MiB",
                f"<= {sustained.tolerance_kib / 1024:.1f} MiB",
                sustained.growth_kib <= sustained.tolerance_kib,
            )
        )
    return targets


# --- the report ----------------------------------------------------------------------------


def _seconds_or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _num(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def comparison_table(comparisons: Sequence[Comparison]) -> list[str]:
    header = [
        "query",
        "c",
        "req/s",
        "floor",
        "ratio",
        "p50 ms",
        "floor",
        "ratio",
        "p99 ms",
        "floor",
        "ratio",
        "SQL/req",
        "floor",
        "CPU ms/req",
        "floor",
        "ratio",
        "PostgreSQL CPU ms/req",
        "floor",
        "ratio",
        "errors",
        "RSS MiB before → after",
        "floor",
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in comparisons:
        cells = [
            f"{row.key}. {row.name}",
            str(row.concurrency),
            _num(row.requests_per_s, 0),
            _num(row.floor_requests_per_s, 0),
            _num(row.throughput_ratio),
            _num(row.p50_ms),
            _num(row.floor_p50_ms),
            _num(row.p50_ratio),
            _num(row.p99_ms),
            _num(row.floor_p99_ms),
            _num(row.p99_ratio),
            str(row.statements),
            str(row.floor_statements),
            _num(row.cpu_ms_per_request),
            _num(row.floor_cpu_ms_per_request),
            _num(row.cpu_ratio),
            _num(row.db_cpu_ms_per_request),
            _num(row.floor_db_cpu_ms_per_request),
            _num(row.db_cpu_ratio),
            f"{row.errors} / {row.floor_errors}",
            f"{mib(row.rss_before_kib)} → {mib(row.rss_after_kib)}",
            f"{mib(row.floor_rss_before_kib)} → {mib(row.floor_rss_after_kib)}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: Report) -> str:
    d = report.dataset
    if d.reused:
        built = "reused from the cache (not generated in this run)"
    else:
        built = (
            f"built in this run: generated in {_seconds_or_dash(d.generate_s)}, loaded "
            f"(COPY + ANALYZE, one transaction) in {_seconds_or_dash(d.load_s)}, "
            f"VACUUM (FREEZE, ANALYZE) in {_seconds_or_dash(d.vacuum_s)}"
        )
    passed = sum(target.passed for target in report.targets)
    lines = [
        f"## slotgraph cluster benchmark, {report.timestamp}",
        "",
        *environment_rows(report),
        f"| floor | {report.floor_service}; one SQL statement per request through a raw "
        "asyncpg pool (prepared, no reset on release) selecting only the columns the answer "
        "needs, orjson, plain ASGI |",
        f"| authentication | {report.authorization} |",
        f"| rounds | {report.rounds} per query and concurrency, alternating: slotgraph, floor, "
        "floor, slotgraph, ...; req/s and CPU over all rounds, p50/p99 the median of the "
        "rounds' |",
        f"| floor RSS when ready (process tree) | {mib(report.rss_at_ready_floor_kib)} MiB |",
        f"| data set | app.demo, {d.agents:,} agents, {d.kernels:,} kernels, seed {d.seed}, "
        f"alembic head {d.revision}; key `{d.key}` |",
        f"| data set source | {built} |",
        f"| database size | {d.database_mib:.1f} MiB |",
        f"| whole run (wall clock) | {report.wall_s:.0f} s |",
        "",
        "| table | rows | MiB (heap + indexes + TOAST) |",
        "|---|---:|---:|",
        *(f"| {t} | {d.rows[t]:,} | {d.total_mib[t]:.1f} |" for t in TABLES),
        "",
        f"### Targets: {passed} of {len(report.targets)} pass",
        "",
        "| result | target | query | measured | limit |",
        "|---|---|---|---:|---|",
        *(
            f"| {'PASS' if t.passed else 'FAIL'} | {t.target} | {t.query} | {t.value} | {t.limit} |"
            for t in report.targets
        ),
        "",
        "### slotgraph / floor",
        "",
        "Every ratio is slotgraph / floor: below 1 for req/s means slotgraph serves fewer "
        "requests, above 1 for latency and CPU means it takes longer. Both answer with the same "
        "`data` (checked before measuring). CPU is user + system of the server's whole "
        "process tree (supervisor and workers) over the run, per request; PostgreSQL CPU is "
        "user + system of PostgreSQL's processes on this machine over the same run (the "
        "statements' cost on the server, which takes its share of the same cores); RSS is "
        "the tree's, before and after the query's runs. slotgraph's statements per request "
        "are from its log; the floor's are one by construction.",
        "",
        *comparison_table(report.comparisons),
        "",
        *(f"- {result.key}. {result.name}: {result.description}" for result in report.results),
        "",
    ]
    if report.sustained is not None:
        s = report.sustained
        lines += [
            f"### Sustained run: {s.key}, c={s.concurrency}, {s.duration_s} s",
            "",
            f"{s.run.requests_per_s:.0f} req/s, p50 {s.run.p50_ms:.2f} ms, p99 "
            f"{s.run.p99_ms:.2f} ms, {s.run.errors} errors. RSS of slotgraph's process tree "
            f"every {s.sample_s} s; the first {s.warmup_s:.0f} s are warm-up: "
            f"{mib(s.baseline_kib)} MiB after it, {mib(s.final_kib)} MiB at the end "
            f"({s.growth_kib / 1024:+.1f} MiB).",
            "",
            "| s | " + " | ".join(f"{at:.0f}" for at, _ in s.samples) + " |",
            "|---|" + "---:|" * len(s.samples),
            "| RSS MiB | " + " | ".join(mib(rss) for _, rss in s.samples) + " |",
            "",
        ]
    if report.deep_pages:
        lines += [
            "### Deep cursor page against the first page, alternating",
            "",
            "slotgraph only, e and f in alternating runs (e, f, f, e, ...; "
            f"{report.rounds} each): the two deep-page targets are taken from here.",
            "",
            "| c | e req/s | f req/s | time per request e / f | e p50 ms | f p50 ms | e / f |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {p.concurrency} | {_num(p.deep.requests_per_s, 0)} | "
                f"{_num(p.first.requests_per_s, 0)} | "
                f"{_num(ratio(p.first.requests_per_s, p.deep.requests_per_s))} | "
                f"{_num(p.deep.p50_ms)} | {_num(p.first.p50_ms)} | "
                f"{_num(ratio(p.deep.p50_ms, p.first.p50_ms))} |"
                for p in report.deep_pages
            ),
            "",
        ]
    lines += [
        "### EXPLAIN (ANALYZE, BUFFERS) of e and f",
        "",
        "| plan | origin | indexes | rows removed by filter | execution ms | plan cache |",
        "|---|---|---|---:|---:|---|",
    ]
    for plan in report.plans:
        execution = "-" if plan.execution_ms is None else f"{plan.execution_ms:.3f}"
        lines.append(
            f"| {plan.key}. {plan.title} | {plan.origin} | {', '.join(plan.indexes) or '-'} | "
            f"{plan.rows_removed_by_filter:,} | {execution} | {plan.plan_cache} |"
        )
    for plan in report.plans:
        lines += [
            "",
            f"#### {plan.key}. {plan.title}",
            "",
            f"{plan.origin}; parameters: {', '.join(plan.parameters) or 'none'}",
            "",
            "```sql",
            plan.sql,
            "```",
            "",
            "```",
            plan.text,
            "```",
        ]
    lines += [
        "",
        "### slotgraph alone",
        "",
        *results_table(report.results),
        "",
    ]
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Report:
    started = time.monotonic()
    timestamp = utc_timestamp()
    # Taken before anything starts: other work on the machine skews every number measured here.
    loadavg = loadavg_now()
    cursor_row = min(CURSOR_ROW, args.kernels * 3 // 4)
    missing = {"s", "a", "b", "c", "d", "e", "f"} - set(HANDLERS)
    if missing:
        raise BenchError(f"the floor has no endpoint for {sorted(missing)}")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slotgraph-bench-")))
        database_url, dataset = provision_dataset(stack, args.agents, args.kernels, args.seed)
        keys = asyncio.run(_keys(database_url, args.kernels))
        authorization = asyncio.run(create_bench_key(database_url))
        if authorization is None:
            _print("this build has no app.apikeys: requests go without an Authorization header")
            auth_note = "none (this build has no API keys)"
        else:
            auth_note = (
                "slotgraph: every request sends `Authorization: Bearer <superadmin key>`, "
                "checked against the database once per worker and then from the worker's "
                "in-process cache (a dictionary lookup and a SHA-256 per request); the floor "
                "gets the same header and ignores it"
            )
        server: Server = stack.enter_context(
            running_server(
                database_url,
                scratch / "server.log",
                workers=args.workers,
                launcher=args.launcher,
            )
        )
        rss_at_ready = server.rss_kib()
        floor_port = free_port()
        floor: Server = stack.enter_context(
            start_server(
                "floor",
                uvicorn_command("bench.floor:create_app", floor_port, args.workers),
                clean_env(database_url),
                scratch / "floor.log",
                floor_port,
                "uvicorn",
            )
        )
        rss_at_ready_floor = floor.rss_kib()
        if server.launcher == "uvicorn":
            _print(
                "`python -m app serve` takes no --workers here: slotgraph runs under uvicorn "
                "with bench.serve's app factory"
            )

        headers = auth_headers(authorization)
        with httpx.Client(
            base_url=server.base_url, timeout=REQUEST_TIMEOUT_S, headers=headers
        ) as client:
            queries = build_queries(client, keys, args.agents, args.kernels, cursor_row)
            answers, statements = check_answers(client, server, queries, keys, cursor_row)
            small_page_statements = {
                query.key: probe(client, server, query)[1] for query in small_page_queries(queries)
            }
        with httpx.Client(
            base_url=floor.base_url, timeout=REQUEST_TIMEOUT_S, headers=headers
        ) as client:
            check_floor(answers, client, queries)
        _print("the floor's answers equal slotgraph's for every query")

        load = pick_load(args.load, scratch, server.port, authorization)
        floor_load = load.with_port(floor.port)
        results: list[QueryResult] = []
        floor_results: list[QueryResult] = []
        for query in queries:
            mine, theirs = measure_pair(
                Side(server, load, GRAPHQL_PATH, statements[query.key]),
                Side(floor, floor_load, path_for(query.key), FLOOR_STATEMENTS),
                query,
                args.warmup,
                args.duration,
                args.rounds,
            )
            results.append(mine)
            floor_results.append(theirs)
        by_key = {query.key: query for query in queries}
        sustained = None
        if args.sustain > 0:
            sustained = sustained_run(
                server, load, by_key[SUSTAINED_QUERY], args.sustain, args.sample
            )
        deep_pages = deep_against_first(
            server, load, by_key["e"], by_key["f"], args.warmup, args.duration, args.rounds
        )
        _print("explaining e and f")
        plans = explain_pages(database_url, queries)
        comparisons = compare(results, floor_results)
        return Report(
            timestamp=timestamp,
            machine=machine_facts(keys.postgres_version, loadavg),
            database=dataset.location,
            load_generator=load.describe(),
            warmup_s=args.warmup,
            duration_s=args.duration,
            rss_at_ready_kib=rss_at_ready,
            service=describe_server(server),
            dataset=dataset,
            cursor_row=cursor_row,
            floor_service=describe_server(floor),
            authorization=auth_note,
            rss_at_ready_floor_kib=rss_at_ready_floor,
            results=results,
            floor_results=floor_results,
            comparisons=comparisons,
            small_page_statements=small_page_statements,
            sustained=sustained,
            targets=evaluate(comparisons, statements, small_page_statements, sustained, deep_pages),
            queries={query.key: query.payload for query in queries},
            plans=plans,
            wall_s=time.monotonic() - started,
            rounds=args.rounds,
            deep_pages=deep_pages,
        )


def _bench(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    if args.sustain is None:
        args.sustain = QUICK_SUSTAIN_S if args.quick else DEFAULT_SUSTAIN_S
    if args.rounds is None:
        args.rounds = QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS
    if args.sample is None:
        args.sample = QUICK_SAMPLE_S if args.quick else DEFAULT_SAMPLE_S
    report = run(args)
    return "cluster", render_markdown(report), asdict(report)


def _count(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be between {minimum:,} and {maximum:,}, got {value:,}"
            )
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser("python -m bench.cluster", __doc__)
    # The upper bounds keep a cache build within minutes and in memory: the generator holds
    # every row in Python lists before COPY.
    parser.add_argument(
        "--agents",
        type=_count(1, 100_000),
        default=DEFAULT_AGENTS,
        help=f"agents in the data set (default {DEFAULT_AGENTS:,})",
    )
    parser.add_argument(
        "--kernels",
        type=_count(100, 2_000_000),
        default=DEFAULT_KERNELS,
        help=f"kernels in the data set (default {DEFAULT_KERNELS:,})",
    )
    parser.add_argument(
        "--seed", type=_count(0, 2**31), default=0, help="generator seed (default 0)"
    )
    # Options whose default depends on --quick (applied in _bench).
    for flag, bounds, what, default, quick in (
        (
            "--sustain",
            (0, 3600),
            "seconds of the sustained run that samples RSS; 0 skips it",
            DEFAULT_SUSTAIN_S,
            QUICK_SUSTAIN_S,
        ),
        (
            "--rounds",
            (1, 20),
            "alternating runs of slotgraph and the floor per query and concurrency",
            DEFAULT_ROUNDS,
            QUICK_ROUNDS,
        ),
        (
            "--sample",
            (1, 60),
            "seconds between RSS samples of the sustained run",
            DEFAULT_SAMPLE_S,
            QUICK_SAMPLE_S,
        ),
    ):
        parser.add_argument(
            flag,
            type=_count(*bounds),
            default=None,
            help=f"{what} (default {default}, with --quick {quick})",
        )
    return run_cli(
        parser,
        argv,
        _bench,
        interrupted="the service was stopped; the cached data set is kept",
    )


if __name__ == "__main__":
    raise SystemExit(main())
