"""Migrations on a real PostgreSQL: they match the Core tables, seed the registry, and the
database itself refuses bad rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from starlette.applications import Starlette

from app.db import admin, with_database
from app.main import NotMigrated, create_app
from app.settings import Settings
from app.tables import metadata


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_core_tables(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import sqlalchemy_url

    engine = create_async_engine(sqlalchemy_url(database_url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_the_registry_is_seeded(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT slot_name, rank FROM resource_slot_types ORDER BY rank"
        )
    finally:
        await connection.close()
    assert len(rows) == 14
    assert [r["rank"] for r in rows] == list(range(100, 1500, 100))


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        (
            "INSERT INTO resource_slot_types (slot_name, slot_type) VALUES ('x.y', 'gallons')",
            "ck_resource_slot_types_slot_type",
        ),
        (
            "INSERT INTO resource_slot_types (slot_name, slot_type) VALUES ('', 'count')",
            "ck_resource_slot_types_slot_name_not_empty",
        ),
        (
            "INSERT INTO agents (id, status, region, addr, architecture, version) "
            "VALUES ('i-a:b', 'ALIVE', 'r', 'a', 'x86_64', '1')",
            "ck_agents_id_format",
        ),
        (
            "INSERT INTO agents (id, status, region, addr, architecture, version) "
            "VALUES ('i-a', 'SLEEPING', 'r', 'a', 'x86_64', '1')",
            "ck_agents_status",
        ),
    ],
)
async def test_check_constraints(database_url: str, statement: str, constraint: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError) as raised:
            await connection.execute(statement)
        assert raised.value.constraint_name == constraint
    finally:
        await connection.close()


async def test_amounts_are_never_negative_but_used_may_exceed_capacity(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO agents (id, status, region, addr, architecture, version) "
                "VALUES ('i-check', 'ALIVE', 'r', 'a', 'x86_64', '1')"
            )
            await connection.execute(
                "INSERT INTO agent_resources (agent_id, slot_name, capacity, used) VALUES ('i-check', 'cpu', 2, 3)"
            )
            with pytest.raises(asyncpg.CheckViolationError):
                async with connection.transaction():
                    await connection.execute(
                        "INSERT INTO agent_resources (agent_id, slot_name, capacity) VALUES ('i-check', 'mem', -1)"
                    )
            kernel = uuid.uuid4()
            await connection.execute(
                "INSERT INTO kernels (id, session_id, session_type, cluster_role, cluster_hostname, "
                "domain_name, group_id, user_uuid, status, result) VALUES ($1, $1, 'BATCH', 'main', 'h', "
                "'default', $1, $1, 'RUNNING', 'UNDEFINED')",
                kernel,
            )
            with pytest.raises(asyncpg.CheckViolationError):
                async with connection.transaction():
                    await connection.execute(
                        "INSERT INTO resource_allocations (kernel_id, slot_name, requested, used) "
                        "VALUES ($1, 'cpu', 1, -0.5)",
                        kernel,
                    )
            # Deleting the agent cascades to its per-slot rows.
            await connection.execute("DELETE FROM kernels WHERE id = $1", kernel)
            await connection.execute("DELETE FROM agents WHERE id = 'i-check'")
            assert (
                await connection.fetchval(
                    "SELECT count(*) FROM agent_resources WHERE agent_id = 'i-check'"
                )
                == 0
            )
    finally:
        await connection.close()


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    name = f"slotgraph_empty_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(database_url, name)
    finally:
        asyncio.run(admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_service_refuses_an_unmigrated_database(empty_database: str) -> None:
    app: Starlette = create_app(Settings(database_url=empty_database))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(NotMigrated) as raised:
        asyncio.run(start())
    assert str(raised.value) == (
        "The database is at revision none (empty), this release needs 0003. "
        "Run `make migrate` (or `python -m app migrate`) and start again."
    )


def test_readyz_turns_unready_when_the_database_goes_away(database_url: str) -> None:
    import httpx

    from app.migrate import upgrade

    name = f"slotgraph_gone_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(database_url, f'CREATE DATABASE "{name}"'))
    url = with_database(database_url, name)
    upgrade(url)
    app: Starlette = create_app(Settings(database_url=url))

    async def probe() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                before = (await client.get("/readyz")).status_code
                await admin(database_url, f'DROP DATABASE "{name}" WITH (FORCE)')
                after = await client.get("/readyz")
                assert after.json()["status"] == "unready"
                return before, after.status_code

    try:
        assert asyncio.run(probe()) == (200, 503)
    finally:
        asyncio.run(admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
