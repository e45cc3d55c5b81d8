"""The connection pool: what a connection carries from one request to the next."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
import sqlalchemy as sa

from app.db import Database
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
