"""Read-path benchmark of agents and kernels at cluster scale, measured against the real service.

Run: `python -m bench.cluster` (part of `make bench`); `--agents`, `--kernels` and `--seed` size
the data set (default 2,000 agents, 200,000 kernels, seed 0); `--warmup`, `--duration` and
`--load` work as in bench.registry.

Data set: app.demo's generator, migrated to head and loaded once, then cached under a key of
(agents, kernels, seed, alembic head revision, app.demo.VERSION). Without BENCH_DATABASE_URL the embedded
PostgreSQL keeps its data directory in bench/.cache/<key>/ (git-ignored); with it, a database
named after the key is created on that server when missing and kept for the next run. A cache
is reused when it holds exactly the requested numbers of agents and kernels; otherwise it is
(re)loaded in one transaction, so an interrupted load never leaves a half-filled cache behind.
A change to the generator's output bumps app.demo.VERSION, and with it the key.

The service runs as `python -m app serve` in production mode with default settings on a free
127.0.0.1 port and is measured over loopback only, as in bench.registry.

EXPLAIN: the main SQL of the cursor page (e) and the first page (f) is captured by running the
same GraphQL documents in-process through the app's own resolvers (a statement listener on
app.db.Database) and compiled by the `databases` backend the service uses, so the plans are of
the SQL the service sends, with its parameters. Each is prepared (asyncpg prepares every
statement the service sends) and run a few times first, so the plan explained is the one
PostgreSQL's plan cache settles on, custom or generic; the report says which. For comparison,
e is also explained as a hand-written row-value keyset, `(created_at, id) > ($1, $2)`, which
leaves out the rows with a NULL created_at that the app's order puts last (the demo data has
none).

Results go to bench/results/cluster-<UTC time>.md/.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from ariadne import graphql
from databases.backends.postgres import PostgresBackend
from sqlalchemy.sql import ClauseElement

from app import demo
from app.context import RequestContext
from app.db import Database, admin, connected, with_database
from app.ids import encode_global_id
from app.migrate import head_revision, upgrade
from app.pagination import decode_cursor
from app.repositories import kernels as kernel_repository
from app.schema import build_schema
from app.settings import Settings
from bench.common import (
    REQUEST_TIMEOUT_S,
    BenchError,
    Query,
    QueryResult,
    RunFacts,
    Server,
    bench_parser,
    environment_rows,
    loadavg_now,
    machine_facts,
    measure_all,
    pick_load,
    post,
    probe,
    results_table,
    run_cli,
    running_server,
    utc_timestamp,
)

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
TABLES = ("agents", "agent_resources", "kernels", "resource_allocations")
DEFAULT_AGENTS = 2_000
DEFAULT_KERNELS = 200_000
AGENT_PAGE = 50
SLOT_PAGE = 5
RUNNING_PAGE = 100
KERNEL_PAGE = 50
NODES_PER_TYPE = 20
# Where the cursor page starts; capped for smaller data sets so the page is never empty.
CURSOR_ROW = 150_000
EXPLAIN_TIMEOUT_MS = 60_000
PLAN_CACHE_RUNS = 8

AGENT_FIELDS = (
    "id statusInfo { status } "
    f"resourceSlots(first: {SLOT_PAGE}, orderBy: [{{field: USED, direction: DESC}}]) "
    "{ count edges { node { slotName capacity used free } } }"
)


def _agents_query(extra: str) -> str:
    return (
        f"query Agents {{ agentsV2(first: {AGENT_PAGE}) "
        f"{{ edges {{ node {{ {AGENT_FIELDS}{extra} }} }} }} }}"
    )


RUNNING_QUERY = (
    f"query RunningKernels {{ adminKernelsV2(first: {RUNNING_PAGE}, "
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
# The same page as e's, written by hand as one row-value comparison that an index on
# (created_at, id) can seek to directly.
ROW_VALUE_SQL = (
    "SELECT * FROM kernels WHERE (created_at, id) > ($1, $2) "
    f"ORDER BY created_at ASC, id ASC LIMIT {KERNEL_PAGE + 1}"
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
class Report(RunFacts):
    dataset: Dataset
    cursor_row: int
    results: list[QueryResult]
    queries: dict[str, dict[str, Any]]
    plans: list[Plan]
    wall_s: float


# --- the data set --------------------------------------------------------------------------


def dataset_key(agents: int, kernels: int, seed: int, revision: str) -> str:
    from app.demo import VERSION

    return f"a{agents}-k{kernels}-s{seed}-r{revision}-g{VERSION}"


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
            {"query": _agents_query(" containerCount resourceInfo { capacity used free }")},
            agent_rows,
        ),
        Query(
            "c",
            "running kernels",
            f"adminKernelsV2(first: {RUNNING_PAGE}, status in [RUNNING]), each with "
            "resourceAllocations and their count",
            {"query": RUNNING_QUERY},
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
) -> dict[str, int]:
    """Send each query once, check what it returns, and return its SQL statement count."""
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
    return statements


# --- EXPLAIN -------------------------------------------------------------------------------


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
            context = RequestContext(settings=settings, session=session, request_id="bench-sql")
            success, result = await graphql(build_schema(), payload, context_value=context)
        finally:
            await session.close()
    finally:
        await database.disconnect()
    if not success or result.get("errors"):
        raise BenchError(f"in-process request failed: {result}")
    # The service hands each statement to the `databases` backend, which compiles it to text
    # and asyncpg arguments; the same compiler here gives the same text and arguments.
    compiler = PostgresBackend(database_url).connection()
    statements: list[tuple[str, list[Any]]] = []
    for statement in captured:
        sql, args, _ = compiler._compile(statement)
        statements.append((str(sql), list(args)))
    return statements


def _literal(value: Any) -> str:
    # A quoted literal of unknown type takes the type PostgreSQL inferred for the parameter,
    # as a bound value would; the arguments here are the cursor's values and the page size.
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
    execute = f"EXECUTE bench_plan({', '.join(_literal(arg) for arg in args)})"
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
    args = [created_at, kernel_id]
    explained = asyncio.run(_explain(database_url, ROW_VALUE_SQL, args))
    origin = "hand-written row-value keyset for the same page (not what the app sends)"
    plans.append(
        _plan("e'", "kernel page, deep cursor, row-value", origin, ROW_VALUE_SQL, args, explained)
    )
    return plans


# --- the report ----------------------------------------------------------------------------


def _seconds_or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


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
    lines = [
        f"## slotgraph cluster benchmark, {report.timestamp}",
        "",
        *environment_rows(report),
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
        *results_table(report.results),
        "",
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
    lines.append("")
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Report:
    started = time.monotonic()
    timestamp = utc_timestamp()
    # Taken before anything starts: other work on the machine skews every number measured here.
    loadavg = loadavg_now()
    cursor_row = min(CURSOR_ROW, args.kernels * 3 // 4)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slotgraph-bench-")))
        database_url, dataset = provision_dataset(stack, args.agents, args.kernels, args.seed)
        keys = asyncio.run(_keys(database_url, args.kernels))
        server: Server = stack.enter_context(running_server(database_url, scratch / "server.log"))
        rss_at_ready = server.rss_kib()

        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:
            queries = build_queries(client, keys, args.agents, args.kernels, cursor_row)
            statements = check_answers(client, server, queries, keys, cursor_row)

        load = pick_load(args.load, scratch, server.port)
        results = measure_all(server, load, queries, statements, args.warmup, args.duration)
        _print("explaining e and f")
        plans = explain_pages(database_url, queries)
        return Report(
            timestamp=timestamp,
            machine=machine_facts(keys.postgres_version, loadavg),
            database=dataset.location,
            load_generator=load.describe(),
            warmup_s=args.warmup,
            duration_s=args.duration,
            rss_at_ready_kib=rss_at_ready,
            dataset=dataset,
            cursor_row=cursor_row,
            results=results,
            queries={query.key: query.payload for query in queries},
            plans=plans,
            wall_s=time.monotonic() - started,
        )


def _bench(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
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
    return run_cli(
        parser,
        argv,
        _bench,
        interrupted="the service was stopped; the cached data set is kept",
    )


if __name__ == "__main__":
    raise SystemExit(main())
