"""In-process timing of the GraphQL executors: stock graphql-core against app.execution's
FastExecutor, on the same documents, data and resolvers.

Run: `python -m bench.executor` (`--agents/--kernels/--seed` size the demo data set, `--runs`
how many timed requests per executor and document, `--profile` writes cProfile statistics).

Each request is what `app.http` does after authentication: a fresh RequestContext (its own
connection and loaders), Ariadne's `graphql()` with the cached document and validation, the
same error formatter. Two measurements per document and executor:

- `with SQL`: the whole request, statements included.
- `no I/O`: the same, with each statement's rows served from memory after the first run
  (keyed by its compiled SQL and parameters), so what is left is Python: resolvers, loaders
  and the executor, the part the fast path changes.

Both executors' responses are compared byte for byte (orjson of `data` and `errors`) before
anything is timed. The database is a throw-away embedded PostgreSQL (or a fresh database on
BENCH_DATABASE_URL, dropped afterwards) loaded with the demo generator. Results are printed
and written to bench/results/executor-<UTC time>.md (git-ignored), profiles beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from ariadne import graphql
from graphql import GraphQLSchema
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql import ClauseElement

from app import apikeys, demo
from app.auth import Authenticator, Caller
from app.context import RequestContext
from app.db import Database, PageStatement, RequestSession, Result, Row, admin, with_database
from app.documents import DocumentCache
from app.errors import format_error
from app.execution import FastExecutor
from app.migrate import upgrade
from app.schema import build_schema
from app.settings import PROJECT_ROOT, Settings

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"

# The nested agents query of bench.cluster ("a"): 50 agents, five slots each, ~1,900 fields.
AGENTS_QUERY = (
    "query Agents { agentsV2(first: 50) { edges { node { id statusInfo { status } "
    "resourceSlots(first: 5, orderBy: [{field: USED, direction: DESC}]) "
    "{ count edges { node { slotName capacity used free } } } } } } }"
)
# Kernels with their lifecycle and allocations: more resolvers per field.
KERNELS_QUERY = (
    "query RunningKernels { adminKernelsV2(first: 100, filter: {status: {in: [RUNNING]}}) "
    "{ edges { node { id lifecycle { status createdAt } "
    "resourceAllocations { count edges { node { slotName requested used } } } } } } }"
)
DOCUMENTS = {"agents": AGENTS_QUERY, "kernels": KERNELS_QUERY}
PG_DIALECT = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


class CachedSession(RequestSession):
    """A request session that answers a statement it has seen before from memory."""

    rows: ClassVar[dict[tuple[str, ...], Any]] = {}

    async def fetch_all(self, query: ClauseElement) -> Sequence[Row]:
        compiled = query.compile(dialect=PG_DIALECT)
        key = (str(compiled), repr(sorted(compiled.params.items())))
        cached = self.rows.get(key)
        if cached is None:
            cached = self.rows[key] = await super().fetch_all(query)
        return cached

    async def fetch_page(self, page: PageStatement) -> Result:
        cached: Result = await self._page(page, super().fetch_page)
        return cached

    async def fetch_records(self, page: PageStatement) -> Sequence[Row]:
        cached: Sequence[Row] = await self._page(page, super().fetch_records)
        return cached

    async def _page(
        self, page: PageStatement, fetch: Callable[[PageStatement], Awaitable[Any]]
    ) -> Any:
        where = page.where._generate_cache_key() if page.where is not None else None
        key = (
            fetch.__name__,
            repr((page.shape, where.key if where is not None else None)),
            repr(
                (
                    sorted(page.values.items()),
                    [b.effective_value for b in where.bindparams] if where is not None else [],
                )
            ),
        )
        cached = self.rows.get(key)
        if cached is None:
            cached = self.rows[key] = await fetch(page)
        return cached


@dataclass(frozen=True)
class Timing:
    document: str
    executor: str
    io: str
    runs: int
    p50_ms: float
    mean_ms: float
    cpu_ms: float  # this process's CPU time per request (PostgreSQL's is not in it)
    pure_fields: int
    mixed_fields: int


class Bench:
    def __init__(self, database: Database, schema: GraphQLSchema, caller: Caller) -> None:
        self.database = database
        self.schema = schema
        self.caller = caller
        self.documents = DocumentCache()
        self.last_executor: FastExecutor | None = None

    async def request(
        self, query: str, *, fast: bool, cached: bool
    ) -> tuple[dict[str, Any], FastExecutor | None]:
        session = CachedSession(self.database) if cached else self.database.session()
        context = RequestContext(
            settings=self.database.settings,
            session=session,
            request_id=uuid.uuid4().hex,
            caller=self.caller,
        )
        executors: list[FastExecutor] = []

        class Recorded(FastExecutor):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                executors.append(self)

        try:
            _, result = await graphql(
                self.schema,
                {"query": query},
                context_value=context,
                query_parser=self.documents.parse,
                query_validator=self.documents.validate,
                error_formatter=format_error,
                execution_context_class=Recorded if fast else None,
            )
        finally:
            await session.close()
        return result, (executors[0] if executors else None)

    async def time(self, name: str, query: str, *, cached: bool, runs: int) -> list[Timing]:
        """Both executors, alternating request by request, so that whatever else the
        machine does weighs on both alike."""
        for _ in range(max(runs // 10, 5)):  # warm-up: documents, the pool, PostgreSQL
            for fast in (False, True):
                await self.request(query, fast=fast, cached=cached)
        walls: dict[bool, list[float]] = {False: [], True: []}
        cpus: dict[bool, list[float]] = {False: [], True: []}
        pure: dict[bool, int] = {False: 0, True: 0}
        mixed: dict[bool, int] = {False: 0, True: 0}
        for _ in range(runs):
            for fast in (False, True):
                wall, cpu = time.perf_counter(), time.process_time()
                _, executor = await self.request(query, fast=fast, cached=cached)
                cpus[fast].append(time.process_time() - cpu)
                walls[fast].append(time.perf_counter() - wall)
                pure[fast] = executor.pure_fields if executor is not None else 0
                mixed[fast] = executor.mixed_fields if executor is not None else 0
        return [
            Timing(
                document=name,
                executor="fast" if fast else "graphql-core",
                io="no I/O" if cached else "with SQL",
                runs=runs,
                p50_ms=statistics.median(walls[fast]) * 1000,
                mean_ms=statistics.fmean(walls[fast]) * 1000,
                cpu_ms=statistics.fmean(cpus[fast]) * 1000,
                pure_fields=pure[fast],
                mixed_fields=mixed[fast],
            )
            for fast in (False, True)
        ]


def _response_bytes(result: dict[str, Any]) -> tuple[bytes, bytes]:
    return orjson.dumps(result.get("data")), orjson.dumps(result.get("errors"))


async def run(args: argparse.Namespace, database_url: str, stamp: str) -> list[Timing]:
    settings = replace(Settings(), database_url=database_url)
    user = uuid.uuid4()
    issued = await apikeys.create_key(
        database_url, role="superadmin", user_uuid=user, domain="default"
    )
    database = Database(settings)
    await database.connect()
    try:
        session = database.session()
        try:
            caller = await Authenticator(0).authenticate(
                f"Bearer {issued.token}", lambda key_id: apikeys.lookup(session, key_id)
            )
        finally:
            await session.close()
        bench = Bench(database, build_schema(), caller)
        timings: list[Timing] = []
        for name, query in DOCUMENTS.items():
            stock, _ = await bench.request(query, fast=False, cached=False)
            fast, executor = await bench.request(query, fast=True, cached=False)
            if _response_bytes(stock) != _response_bytes(fast):
                raise SystemExit(f"{name}: the two executors answered differently")
            if stock.get("errors"):
                raise SystemExit(f"{name}: the query failed: {stock['errors']}")
            assert executor is not None
            print(
                f"{name}: identical responses ({len(orjson.dumps(stock)):,} bytes, "
                f"{executor.pure_fields} fields completed directly, "
                f"{executor.mixed_fields} more around their resolver fields, "
                f"{executor.given_up} handed back to graphql-core)",
                file=sys.stderr,
            )
            for cached in (False, True):
                timings.extend(await bench.time(name, query, cached=cached, runs=args.runs))
            if args.profile:
                for use_fast in (False, True):
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(args.runs):
                        await bench.request(query, fast=use_fast, cached=True)
                    profiler.disable()
                    label = "fast" if use_fast else "graphql-core"
                    target = RESULTS_DIR / f"executor-{stamp}-{name}-{label}"
                    profiler.dump_stats(target.with_suffix(".prof"))
                    text = io.StringIO()
                    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
                    target.with_suffix(".txt").write_text(text.getvalue())
                    print(f"profile: {target}.prof / .txt", file=sys.stderr)
        return timings
    finally:
        await database.disconnect()


def render(timings: Sequence[Timing], args: argparse.Namespace) -> str:
    lines = [
        f"# Executor timings ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Demo data: {args.agents} agents, {args.kernels} kernels, seed {args.seed}; "
        f"{args.runs} timed requests per row, in-process (no HTTP). "
        f"Load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.",
        "",
        "| document | I/O | executor | p50 ms | mean ms | CPU ms (mean) "
        "| fields completed directly | around resolvers |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in timings:
        lines.append(
            f"| {t.document} | {t.io} | {t.executor} | {t.p50_ms:.3f} | {t.mean_ms:.3f} "
            f"| {t.cpu_ms:.3f} | {t.pure_fields} | {t.mixed_fields} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--kernels", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="write cProfile statistics")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        server_url = os.environ.get("BENCH_DATABASE_URL")
        if server_url:
            name = f"slotgraph_executor_{uuid.uuid4().hex[:12]}"
            asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
            stack.callback(
                lambda: asyncio.run(
                    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
            )
            url = with_database(server_url, name)
        else:
            from app.embedded import start_embedded, stop_embedded

            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sg-exec-")))
            data_dir = scratch / "pgdata"
            url = start_embedded(data_dir, throwaway=True)
            stack.callback(stop_embedded, data_dir, delete=True)
        upgrade(url)  # alembic runs its own event loop: outside asyncio.run
        asyncio.run(
            demo.load(url, demo.generate(args.agents, args.kernels, args.seed), replace=False)
        )
        timings = asyncio.run(run(args, url, stamp))
    report = render(timings, args)
    target = RESULTS_DIR / f"executor-{stamp}.md"
    target.write_text(report)
    print(report)
    print(f"written to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
