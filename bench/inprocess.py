"""bench.cluster's queries in one process, slotgraph against its floor, without HTTP servers.

Run: `python -m bench.inprocess` after `make bench` has built the data set (same
`--agents/--kernels/--seed`, same BENCH_DATABASE_URL or DATABASE_URL naming the data set's
database). `--requests` sets the timed requests per query and app, `--only s,a` picks queries,
`--concurrency N` keeps N requests in flight, and `--profile KEY` prints cProfile statistics
of query KEY instead of timing.

Both apps are called as ASGI applications on one uvloop event loop: the service as
`app.main.create_app` builds it (SLOTGRAPH_ENV=production, a superadmin API key), the floor as
`bench.floor.create_app`. Requests alternate between the two, so drift of a noisy machine
falls on both alike. Per query it prints the median wall time of a request, the process's CPU
time per request, both as ratios to the floor, and for the service the Python function calls
per request (cProfile) and cyclic GC collections per 1,000 requests.

What this leaves out is what both pay alike: uvicorn's HTTP parsing and the socket. So its
ratios are larger than bench.cluster's, and it moves with the executor's costs alone; it is
the tool for measuring a change to the request path before a full `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import orjson
import uvloop

from app.settings import Settings
from bench import floor
from bench.cluster import (
    AGENT_INFO_FIELDS,
    CURSOR_ROW,
    NODES_QUERY,
    OFFSET_QUERY,
    PAGE_QUERY,
    SLOT_LIST_QUERY,
    _agents_query,
    _keys,
    _running_query,
    built_dataset_url,
    node_ids,
)
from bench.common import BENCH_USER, BenchError

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]


class Client:
    """POSTs a JSON body to an ASGI app in-process and returns (status, body)."""

    def __init__(self, app: App, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.app = app
        self.headers = [(b"content-type", b"application/json"), *headers]

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # never: a request body is read once
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


class Lifespan:
    """Runs an ASGI app's lifespan protocol around a block."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        answer = await self.outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise BenchError(f"start-up failed: {answer.get('message')}")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        if self.task is not None:
            await self.task


def queries(keys: Any, cursor: str) -> dict[str, dict[str, Any]]:
    ids, _ = node_ids(keys)
    return {
        "s": {"query": SLOT_LIST_QUERY},
        "a": {"query": _agents_query("")},
        "b": {"query": _agents_query(AGENT_INFO_FIELDS)},
        "c": {"query": _running_query()},
        "d": {"query": NODES_QUERY, "variables": {"ids": ids}},
        "e": {"query": PAGE_QUERY, "variables": {"after": cursor}},
        "f": {"query": PAGE_QUERY},
    }


async def timed(
    call: Callable[[], Awaitable[tuple[int, bytes]]], concurrency: int
) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of `concurrency` calls in flight at once."""
    wall, cpu = time.perf_counter(), time.process_time()
    answers = await asyncio.gather(*(call() for _ in range(concurrency)))
    for status, body in answers:
        if status != 200:
            raise BenchError(f"status {status}: {body[:300]!r}")
    return time.perf_counter() - wall, time.process_time() - cpu


async def main_async(args: argparse.Namespace) -> int:
    url = args.database_url
    os.environ.update({"DATABASE_URL": url, "SLOTGRAPH_ENV": "production"})
    from app import apikeys
    from app.main import create_app

    issued = await apikeys.create_key(
        url, role="superadmin", user_uuid=BENCH_USER, domain="default", description="bench"
    )
    service = create_app(Settings.from_env())
    floor_app = floor.create_app()
    auth = [(b"authorization", f"Bearer {issued.token}".encode())]
    slot = Client(service, auth)
    base = Client(floor_app)
    keys = await _keys(url, args.kernels)
    async with Lifespan(service), Lifespan(floor_app):
        offset = orjson.dumps({"query": OFFSET_QUERY, "variables": {"offset": CURSOR_ROW - 1}})
        status, body = await slot.post("/graphql", offset)
        if status != 200:
            raise BenchError(f"the cursor query failed with {status}: {body[:300]!r}")
        cursor = orjson.loads(body)["data"]["adminKernelsV2"]["pageInfo"]["endCursor"]
        bodies = {k: orjson.dumps(v) for k, v in queries(keys, cursor).items()}
        picked = [k for k in bodies if not args.only or k in args.only.split(",")]
        if args.profile:
            key = args.profile
            for _ in range(args.warmup):
                await slot.post("/graphql", bodies[key])
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                await slot.post("/graphql", bodies[key])
            profile.disable()
            stats = pstats.Stats(profile)
            calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
            print(f"{key}: {calls:,.0f} function calls per request")
            stats.sort_stats(args.sort).print_stats(args.top)
            return 0
        print(
            f"{'query':<6}{'p50 µs':>9}{'floor':>8}{'ratio':>7}{'cpu µs':>9}{'floor':>8}"
            f"{'ratio':>7}{'calls':>8}{'gc/1k':>7}",
            flush=True,
        )
        for key in picked:
            body = bodies[key]
            path = floor.path_for(key)

            def one_slot(body: bytes = body) -> Awaitable[tuple[int, bytes]]:
                return slot.post("/graphql", body)

            def one_floor(body: bytes = body, path: str = path) -> Awaitable[tuple[int, bytes]]:
                return base.post(path, body)

            for _ in range(args.warmup):
                await timed(one_slot, args.concurrency)
                await timed(one_floor, args.concurrency)
            samples: dict[str, list[tuple[float, float]]] = {"slot": [], "floor": []}
            collections = sum(s["collections"] for s in gc.get_stats())
            for _ in range(args.requests):
                samples["slot"].append(await timed(one_slot, args.concurrency))
                samples["floor"].append(await timed(one_floor, args.concurrency))
            collections = sum(s["collections"] for s in gc.get_stats()) - collections
            calls_profile = cProfile.Profile()
            calls_profile.enable()
            for _ in range(10):
                await one_slot()
            calls_profile.disable()
            calls = pstats.Stats(calls_profile).total_calls / 10  # type: ignore[attr-defined]
            n = args.concurrency
            wall = {k: statistics.median(w for w, _ in v) / n * 1e6 for k, v in samples.items()}
            cpu = {k: statistics.fmean(c for _, c in v) / n * 1e6 for k, v in samples.items()}
            print(
                f"{key:<6}{wall['slot']:>9.0f}{wall['floor']:>8.0f}"
                f"{wall['slot'] / wall['floor']:>7.2f}{cpu['slot']:>9.0f}{cpu['floor']:>8.0f}"
                f"{cpu['slot'] / cpu['floor']:>7.2f}{calls:>8.0f}"
                f"{collections * 1000 / (args.requests * n):>7.1f}",
                flush=True,
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--kernels", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated query keys (s,a,b,c,d,e,f)")
    parser.add_argument("--profile", default="", help="a query key: print cProfile statistics")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.database_url is None:
        args.database_url = built_dataset_url(args.agents, args.kernels, args.seed)
        if args.database_url is None:
            print("set BENCH_DATABASE_URL (as for make bench) or --database-url", file=sys.stderr)
            return 2
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
