"""Test fixtures: a real PostgreSQL, migrated once per run, and the app over ASGI.

Without TEST_DATABASE_URL the run starts its own embedded PostgreSQL in a throw-away
directory. With it, a fresh database is created on that server for the run and dropped
afterwards, so the server's other databases are never touched.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.sql import ClauseElement
from starlette.applications import Starlette

from app.db import admin, lookups_in, with_database
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        name = f"slotgraph_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
        url = with_database(server_url, name)
        try:
            upgrade(url)
            yield url
        finally:
            asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    from app.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="slotgraph-test-") as scratch:
        data_dir = Path(scratch) / "pgdata"
        url = start_embedded(data_dir, throwaway=True)
        try:
            upgrade(url)
            yield url
        finally:
            stop_embedded(data_dir, delete=True)


# The deterministic demo cluster every test run loads (agents i-node00001…).
DEMO_AGENTS, DEMO_KERNELS, DEMO_SEED = 120, 1500, 7


@pytest.fixture(scope="session")
def demo_loaded(database_url: str) -> None:
    from app import demo

    asyncio.run(
        demo.load(database_url, demo.generate(DEMO_AGENTS, DEMO_KERNELS, DEMO_SEED), replace=False)
    )


@pytest.fixture(scope="session")
def cluster(database_url: str) -> None:
    """The hand-made i-fx-* cluster of tests/api/cluster_fixture.py."""
    from tests.api import cluster_fixture

    asyncio.run(cluster_fixture.load(database_url))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Verified keys stay cached for the whole run, so statement counts are those of the query
    # alone; tests of the cache itself build their own app.
    # Apps come and go by the dozen in one test process: the collector keeps its defaults
    # (tests/integration/test_runtime.py checks the tuning itself).
    return replace(
        Settings(),
        database_url=database_url,
        debug=False,
        auth_cache_seconds=3600,
        gc_tuning=False,
    )


# The identities API tests act as (tests/api/test_access.py adds admins and users).
SUPERADMIN_USER = uuid.UUID("5a5a5a5a-0000-4000-8000-000000000001")


def issue_key(database_url: str, role: str, user: uuid.UUID, domain: str) -> str:
    from app.apikeys import create_key

    issued = asyncio.run(create_key(database_url, role=role, user_uuid=user, domain=domain))
    return issued.token


@pytest.fixture(scope="session")
def superadmin_token(database_url: str) -> str:
    return issue_key(database_url, "superadmin", SUPERADMIN_USER, "default")


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette, superadmin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI, authenticated as a superadmin (who sees everything)."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {superadmin_token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as http:
        yield http


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI with no credentials."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class StatementLog:
    """The SQL statements the app runs while a test is active."""

    def __init__(self) -> None:
        self.statements: list[ClauseElement] = []

    def __call__(self, statement: ClauseElement) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def lookups(self) -> list[Any]:
        """The statements, with lookups run together in one statement taken apart: what each
        would have run alone (app.db.lookups_in)."""
        return [part for statement in self.statements for part in lookups_in(statement)]

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql(app: Starlette) -> Iterator[StatementLog]:
    log = StatementLog()
    listeners = app.state.database.listeners
    listeners.append(log)
    try:
        yield log
    finally:
        listeners.remove(log)


# Every operation a GraphQLClient sends (query, variables, Authorization header), replayed
# through both executors at the end of the run by tests/differential/test_replay.py.
SENT_OPERATIONS: list[tuple[str, dict[str, Any] | None, str | None]] = []


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, sql: StatementLog) -> None:
        self.http = http
        self.sql = sql

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query; expect HTTP 200 and return the whole JSON body."""
        SENT_OPERATIONS.append((query, variables, self.http.headers.get("authorization")))
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def gql(client: httpx.AsyncClient, sql: StatementLog) -> GraphQLClient:
    # The key is verified once and then cached (auth_cache_seconds); statement counts in
    # tests are those of the query itself.
    warm = await client.post("/graphql", json={"query": "{ __typename }"})
    assert warm.status_code == 200, warm.text
    sql.reset()
    return GraphQLClient(client, sql)
