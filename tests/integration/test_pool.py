"""The connection pool: what a connection carries from one request to the next."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import sqlalchemy as sa

from app.db import Database, _detached
from app.settings import Settings


async def test_a_released_connection_is_not_reset_but_left_clean(
    settings: Settings, database_url: str
) -> None:
    """Requests never change session state, so the pool does not send asyncpg's reset
    statements (a round trip per request); a transaction left open is still rolled back."""
    database = Database(replace(settings, pool_min_size=1, pool_max_size=1))
    await database.connect()
    admin = await asyncpg.connect(database_url)
    try:
        session = database.session()
        [row] = await session.fetch_all(sa.text("SELECT pg_backend_pid() AS pid"))
        pid = row["pid"]
        await session.close()
        last = await admin.fetchrow("SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last is not None
        assert dict(last) == {"state": "idle", "query": "SELECT pg_backend_pid() AS pid"}

        # A transaction left open by a statement is rolled back on release, and the next
        # request gets the same connection with its start-up settings intact.
        session = database.session()
        await session.fetch_all(sa.text("BEGIN"))
        await session.close()
        released = await admin.fetchrow(
            "SELECT state, xact_start FROM pg_stat_activity WHERE pid = $1", pid
        )
        assert released is not None
        assert dict(released) == {"state": "idle", "xact_start": None}
        session = database.session()
        try:
            rows = await session.fetch_all(
                sa.text(
                    "SELECT pg_backend_pid() AS pid, current_setting('statement_timeout') AS timeout"
                )
            )
        finally:
            await session.close()
        assert [dict(r) for r in rows] == [{"pid": pid, "timeout": "5s"}]
    finally:
        await admin.close()
        await database.disconnect()


async def _backend_pid(database: Database) -> int:
    session = database.session()
    try:
        [row] = await session.fetch_all(sa.text("SELECT pg_backend_pid() AS pid"))
    finally:
        await session.close()
    pid: int = row["pid"]
    return pid


async def test_a_clean_connection_is_parked_for_the_next_request(settings: Settings) -> None:
    """With two connections in asyncpg's pool, a connection it took back would go behind
    the other one; a parked connection is the next request's, with no trip through the
    pool, and the pool still closes with connections parked."""
    database = Database(replace(settings, pool_min_size=1, pool_max_size=2))
    await database.connect()
    try:
        first = await _backend_pid(database)
        assert [connection.is_closed() for connection, _ in database._parked] == [False]
        assert [await _backend_pid(database) for _ in range(3)] == [first] * 3
    finally:
        await asyncio.wait_for(database.disconnect(), 10)
    assert database._parked == []


async def test_a_session_waiting_for_the_pool_gets_the_connection_before_it_is_parked(
    settings: Settings,
) -> None:
    database = Database(replace(settings, pool_min_size=1, pool_max_size=1, pool_timeout_ms=5000))
    await database.connect()
    try:
        holder = database.session()
        await holder.fetch_all(sa.text("SELECT 1 AS one"))
        waiter = database.session()
        waiting = asyncio.create_task(waiter.fetch_all(sa.text("SELECT 2 AS two")))
        for _ in range(200):
            if database._waiting:
                break
            await asyncio.sleep(0.01)
        assert database._waiting == 1
        await holder.close()
        assert database._parked == []  # handed to the pool, so to the waiting session
        rows = await asyncio.wait_for(waiting, 5)
        assert [dict(row) for row in rows] == [{"two": 2}]
        await waiter.close()
        assert len(database._parked) == 1  # nobody waits now
    finally:
        await database.disconnect()


async def test_parked_connections_go_back_to_the_pool_when_unused(settings: Settings) -> None:
    database = Database(replace(settings, pool_min_size=1, pool_max_size=1))
    database.park_seconds = 0.2
    await database.connect()
    try:
        await _backend_pid(database)
        assert len(database._parked) == 1
        # Until then the pool's only connection is parked, and `databases` waits for it.
        async with asyncio.timeout(5):
            async with database.connection() as connection:
                assert await connection.fetch_val(sa.text("SELECT 3")) == 3
        assert database._parked == []
    finally:
        await database.disconnect()


async def test_a_parked_connection_the_server_closed_is_replaced(
    settings: Settings, database_url: str
) -> None:
    database = Database(replace(settings, pool_min_size=1, pool_max_size=1))
    await database.connect()
    admin = await asyncpg.connect(database_url)
    try:
        first = await _backend_pid(database)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        [(parked, _)] = database._parked
        for _ in range(200):
            if _detached(parked) or parked.is_closed():
                break
            await asyncio.sleep(0.01)
        # asyncpg hands a connection the server closed back to its pool by itself.
        assert _detached(parked)
        second = await _backend_pid(database)
        assert second != first
        assert len(database._parked) == 1
    finally:
        await admin.close()
        await database.disconnect()
