"""Database faults: statement timeout, a drained pool, killed connections. Requests caught
in a fault fail with api_generic_service-unavailable (retryable); the next ones succeed with
no restart of the service; nothing hangs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from tests.security.conftest import Client

pytestmark = pytest.mark.usefixtures("demo_loaded")

UNAVAILABLE = "api_generic_service-unavailable"
AGENTS = {"query": "{ agentsV2(first: 1) { count } }"}
SLOTS = {"query": "{ resourceSlotTypes(first: 1) { count } }"}


async def blocked_backends(admin: asyncpg.Connection) -> int:
    """Connections of this server's apps waiting for a lock on `agents` (a statement blocked
    while it is prepared shows as `idle`: its wait event is what tells)."""
    count: int = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
        "WHERE a.application_name = 'slotgraph' AND NOT l.granted "
        "AND l.relation = 'agents'::regclass"
    )
    return count


async def until(condition: Any, *, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


async def test_statement_timeout_is_set_on_every_connection(app: Starlette) -> None:
    session = app.state.database.session()
    try:
        rows = await session.fetch_all(sa.text("SHOW statement_timeout"))
        assert rows[0][0] == "5s"
    finally:
        await session.close()


async def test_a_statement_over_the_timeout_is_service_unavailable(
    client_with: Client, database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        async with client_with(statement_timeout_ms=300) as http:
            assert (await http.post("/graphql", json=SLOTS)).status_code == 200
            async with admin.transaction():
                await admin.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
                response = await asyncio.wait_for(http.post("/graphql", json=AGENTS), 30)
            assert response.json() == {
                "data": None,
                "errors": [
                    {
                        "message": "The database is unavailable or the statement took too "
                        "long; retry the request.",
                        "locations": [{"line": 1, "column": 3}],
                        "path": ["agentsV2"],
                        "extensions": {"code": UNAVAILABLE},
                    }
                ],
            }
            retried = await http.post("/graphql", json=AGENTS)
            assert retried.json()["data"]["agentsV2"]["count"] > 0
    finally:
        await admin.close()


async def test_a_drained_pool_answers_instead_of_hanging(
    client_with: Client, database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        # Both connections are opened before the lock is taken: a connection opened while
        # it is held can itself wait for it during start-up.
        async with client_with(
            pool_min_size=2, pool_max_size=2, pool_timeout_ms=500, statement_timeout_ms=60_000
        ) as http:
            assert (await http.post("/graphql", json=SLOTS)).status_code == 200
            locker = admin.transaction()
            await locker.start()
            await admin.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
            try:
                # Two requests hold both connections, waiting for the lock.
                held = [asyncio.create_task(http.post("/graphql", json=AGENTS)) for _ in range(2)]
                await until(lambda: _equals(blocked_backends(admin), 2))
                response = await asyncio.wait_for(http.post("/graphql", json=SLOTS), 30)
                assert response.json() == {
                    "data": None,
                    "errors": [
                        {
                            "message": "No database connection became free in time (pool "
                            "timeout); retry the request.",
                            "locations": [{"line": 1, "column": 3}],
                            "path": ["resourceSlotTypes"],
                            "extensions": {"code": UNAVAILABLE},
                        }
                    ],
                }
            finally:
                await locker.rollback()
            for done in await asyncio.wait_for(asyncio.gather(*held), 30):
                assert done.json()["data"]["agentsV2"]["count"] > 0
            assert (await http.post("/graphql", json=SLOTS)).json() == {
                "data": {"resourceSlotTypes": {"count": 14}}
            }
    finally:
        await admin.close()


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_one_wide_query_takes_one_connection(client_with: Client, database_url: str) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        async with client_with(
            pool_min_size=2, pool_max_size=2, statement_timeout_ms=60_000
        ) as http:
            assert (await http.post("/graphql", json=SLOTS)).status_code == 200
            wide = (
                "{ "
                + " ".join(f"a{i}: agentsV2(first: {i + 1}) {{ count }}" for i in range(8))
                + " }"
            )
            async with admin.transaction():
                await admin.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
                blocked = asyncio.create_task(http.post("/graphql", json={"query": wide}))
                await until(lambda: _equals(blocked_backends(admin), 1))
                # Eight sibling root fields, one connection: the pool still serves others.
                response = await asyncio.wait_for(http.post("/graphql", json=SLOTS), 30)
                assert response.json() == {"data": {"resourceSlotTypes": {"count": 14}}}
                assert await blocked_backends(admin) == 1
            body = (await asyncio.wait_for(blocked, 30)).json()
            assert "errors" not in body
            assert len(body["data"]) == 8
    finally:
        await admin.close()


async def load(http: httpx.AsyncClient, stop: asyncio.Event, outcomes: Counter[str]) -> None:
    """One client sending requests in a loop (bounded), counting how each ended."""
    for _ in range(500):
        if stop.is_set():
            return
        response = await http.post("/graphql", json=AGENTS)
        assert response.status_code == 200, response.text
        body = response.json()
        if "errors" not in body:
            assert body["data"]["agentsV2"]["count"] > 0
            outcomes["ok"] += 1
        else:
            codes = {e["extensions"]["code"] for e in body["errors"]}
            # Caught by the fault: retryable, never an internal error.
            assert codes == {UNAVAILABLE}, body
            outcomes["unavailable"] += 1


async def test_terminated_connections_mid_load_recover(
    client_with: Client, database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        since = await admin.fetchval("SELECT now()")
        async with client_with(pool_min_size=2, pool_max_size=4) as http:
            stop = asyncio.Event()
            outcomes: Counter[str] = Counter()
            clients = [asyncio.create_task(load(http, stop, outcomes)) for _ in range(6)]
            terminated = 0
            try:
                for _ in range(3):
                    await until(more_successes(outcomes, 20), seconds=30)
                    # Only this app's connections (the shared test app's are older).
                    terminated += await admin.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'slotgraph' AND backend_start >= $1",
                        since,
                    )
                await until(more_successes(outcomes, 20), seconds=30)
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*clients), 60)
            assert terminated >= 3
            # Recovered without a restart: every request from here on succeeds.
            for _ in range(20):
                response = await http.post("/graphql", json=AGENTS)
                assert "errors" not in response.json(), response.text
            assert outcomes["ok"] >= 80
            # Requests were in flight when their connections died (and were told to retry).
            assert outcomes["unavailable"] >= 1
    finally:
        await admin.close()


def more_successes(outcomes: Counter[str], count: int) -> Any:
    target = outcomes["ok"] + count

    async def reached() -> bool:
        return outcomes["ok"] >= target

    return reached
