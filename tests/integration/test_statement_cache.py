"""Compiled SQL per statement shape (app.db.CompiledStatements): a shape is compiled once,
and every later statement of that shape runs with its own values, giving exactly the rows
`databases` gives when it compiles the statement itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.sql import ClauseElement
from starlette.applications import Starlette

from app.db import CompiledStatements, Database, Row, connected
from app.pagination import ConnectionQuery, PageArgs, build_select, encode_cursor, validate_page
from app.repositories import kernels as kernels_repository
from app.repositories import resource_slot_types as resource_slot_types_repository
from app.settings import Settings
from app.tables import agents, kernels, resource_slot_types
from tests.conftest import StatementLog

pytestmark = pytest.mark.usefixtures("demo_loaded")


class Shouting(sa.types.TypeDecorator[str]):
    """A type with processors on both sides, as the cached path must apply them."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value + "!"


def _values(rows: Sequence[Row]) -> list[tuple[Any, ...]]:
    return [tuple(row[i] for i in range(len(row))) for row in rows]


async def _both(database: Database, statement: ClauseElement) -> tuple[list[Any], list[Any]]:
    """The rows through the session (the cache) and through `databases` compiling itself."""
    session = database.session()
    try:
        cached = _values(await session.fetch_all(statement))
    finally:
        await session.close()
    async with database.connection() as connection:
        plain = _values(await connection.fetch_all(statement))
    return cached, plain


async def test_one_shape_is_compiled_once_and_runs_with_each_statements_values(
    database: Database,
) -> None:
    statements = database.statements
    before = statements.compiled
    names = ["cpu", "mem", "cuda.device", "no-such-slot"]
    results = []
    for name in names:
        statement = sa.select(resource_slot_types.c.slot_name, resource_slot_types.c.rank).where(
            resource_slot_types.c.slot_name == name
        )
        cached, plain = await _both(database, statement)
        assert cached == plain
        results.append(cached)
    assert statements.compiled == before + 1
    assert [[row[0] for row in rows] for rows in results] == [["cpu"], ["mem"], ["cuda.device"], []]


async def test_bind_and_result_processors_apply_on_the_cached_path(database: Database) -> None:
    before = database.statements.compiled
    for word in ("quiet", "calm"):
        statement = sa.select(sa.literal(word, Shouting()).label("word"))
        cached, plain = await _both(database, statement)
        assert cached == plain == [(word.upper() + "!",)]
    assert database.statements.compiled == before + 1


async def test_statements_whose_text_depends_on_their_values_are_left_to_databases(
    database: Database,
) -> None:
    # An expanding IN renders one placeholder per value: no shape to reuse.
    for ids in (["cpu"], ["cpu", "mem"]):
        statement = (
            sa.select(resource_slot_types.c.slot_name)
            .where(resource_slot_types.c.slot_name.in_(ids))
            .order_by(resource_slot_types.c.slot_name)
        )
        assert database.statements.prepare(statement) is None
        cached, plain = await _both(database, statement)
        assert cached == plain == [(i,) for i in sorted(ids)]


async def test_the_cache_is_bounded(settings: Settings) -> None:
    database = Database(replace(settings, pool_min_size=1, pool_max_size=1))
    database.statements = statements = CompiledStatements(
        database.statements._dialect,
        size=2,
    )
    shapes = [
        sa.select(agents.c.id).where(agents.c.id == "x"),
        sa.select(kernels.c.id).where(kernels.c.id.is_(None)),
        sa.select(resource_slot_types.c.rank).where(resource_slot_types.c.rank == 1),
    ]
    for shape in shapes:
        assert statements.prepare(shape) is not None
    assert statements.compiled == 3
    assert statements.prepare(shapes[2]) is not None  # still cached
    assert statements.compiled == 3
    assert statements.prepare(shapes[0]) is not None  # dropped, compiled again
    assert statements.compiled == 4


async def test_every_statement_of_real_requests_matches_databases_own_compilation(
    app: Starlette, client: httpx.AsyncClient, sql: StatementLog
) -> None:
    """The repositories' statements (nested pages, counts, keyset seeks, filters, visibility,
    batched lookups), each run twice - the second time from the cache - and through
    `databases` compiling it: the same rows every time."""
    first = "{ adminKernelsV2(first: 3) { pageInfo { endCursor } } }"
    cursor = (await client.post("/graphql", json={"query": first})).json()["data"][
        "adminKernelsV2"
    ]["pageInfo"]["endCursor"]
    queries = [
        "{ resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) { count "
        "edges { node { slotName displayName numberFormat { binary roundLength } } } } }",
        "{ agentsV2(first: 5) { count edges { node { id resourceSlots(first: 2, "
        "orderBy: [{field: USED, direction: DESC}]) { count edges { cursor node { slotName "
        "capacity used } } } } } } }",
        "{ adminKernelsV2(first: 5, after: " + f'"{cursor}"' + ", filter: {status: {in: "
        "[RUNNING, TERMINATED]}}) { count pageInfo { hasPreviousPage hasNextPage } edges { "
        "node { id lifecycle { status createdAt } resourceAllocations(first: 3) { count edges "
        "{ node { slotName requested used } } } } } } }",
    ]
    for query in queries:
        response = (await client.post("/graphql", json={"query": query})).json()
        assert "errors" not in response, response
    database: Database = app.state.database
    statements = list(sql.statements)  # _both runs them again through the same database
    assert len(statements) >= 4
    for statement in statements:
        cached, plain = await _both(database, statement)
        assert cached == plain
        assert database.statements.prepare(statement) is not None


async def test_pages_of_one_shape_are_built_once_and_take_each_requests_values(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Walking kernels page by page (new cursor values each time) and filtering by other
    statuses (new filter values) reuses one compiled statement per shape, and every page
    is the one the cursor and filter ask for. A list of one status is a shape of its own
    (`status = $1`, which the (status, created_at, id) index answers in order); lists of
    several share another (`status = ANY($1)`)."""
    statements: CompiledStatements = app.state.database.statements
    page = (
        "query Page($after: String, $status: [KernelV2Status!]) { adminKernelsV2(first: 7, "
        "after: $after, filter: {status: {in: $status}}, orderBy: [{field: CREATED_AT, "
        "direction: DESC}]) { count pageInfo { hasPreviousPage hasNextPage endCursor } "
        "edges { node { id lifecycle { status } } } } }"
    )
    whole = (
        "query All($status: [KernelV2Status!]) { adminKernelsV2(first: 100, filter: {status: "
        "{in: $status}}, orderBy: [{field: CREATED_AT, direction: DESC}]) { count edges { "
        "node { id } } } }"
    )

    async def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["adminKernelsV2"]
        return result

    lengths_seen: set[int] = set()
    for status in (
        ["RUNNING"],
        ["TERMINATED"],
        ["RUNNING", "TERMINATED"],
        ["TERMINATED", "RUNNING"],
    ):
        compiled_before = statements.compiled
        expected = await post(whole, {"status": status})
        assert expected["count"] > 21
        walked: list[str] = []
        after = None
        for number in range(3):
            got = await post(page, {"after": after, "status": status})
            assert got["count"] == expected["count"]
            assert got["pageInfo"]["hasPreviousPage"] is (number > 0)
            assert {edge["node"]["lifecycle"]["status"] for edge in got["edges"]} <= set(status)
            walked.extend(edge["node"]["id"] for edge in got["edges"])
            after = got["pageInfo"]["endCursor"]
        assert walked == [edge["node"]["id"] for edge in expected["edges"]][:21]
        if len(status) in lengths_seen:
            assert statements.compiled == compiled_before
        else:
            # The first list of its length: the whole list, the first page, the cursor pages.
            assert statements.compiled > compiled_before
            lengths_seen.add(len(status))


async def test_a_page_whose_parameters_cannot_be_traced_is_run_as_built(
    database: Database,
) -> None:
    """A filter value SQLAlchemy computes at run time (a callable parameter) is not one the
    template can take from the filter's cache key: the shape is not reused, and every
    statement of it runs as built, with its own values."""
    spec = resource_slot_types_repository.CONNECTION
    ordering = spec.resolve_order([])
    request = validate_page(PageArgs(first=20), default_size=20, max_size=100)
    names = []
    for name in ("cpu", "mem"):
        value = sa.bindparam(None, callable_=partial(str, name), type_=sa.String())
        where = resource_slot_types.c.slot_name == value
        query = ConnectionQuery(spec.source, spec.columns, where, ordering, request)
        page, shape = build_select(query, spec.to_record)
        session = database.session()
        try:
            [result] = shape(await session.fetch_page(page))
        finally:
            await session.close()
        names.append([edge["node"].slot_name for edge in result["edges"]])
    assert names == [["cpu"], ["mem"]]
    assert all(template is None for template in database.statements._templates.values())


async def test_lookups_by_key_are_compiled_once_and_never_built_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fetch_by_keys` and `fetch_by_pairs` bind their keys to SQL compiled once per shape:
    later lookups of any keys build no statement at all, and find exactly their rows."""
    from uuid import UUID

    from app.auth import Caller
    from app.repositories import kernels as kernels_repository
    from app.repositories import resource_allocations

    superadmin = Caller(key_id="k", user_uuid=UUID(int=1), domain="default", role="superadmin")
    absent = UUID(int=0)
    session = database.session()
    try:
        ids = [row["id"] for row in await session.fetch_all(sa.select(kernels.c.id).limit(6))]
        # Each shape once, compiled now (or by an earlier test).
        await kernels_repository.fetch_by_ids(session, superadmin, [ids[0], absent])
        await resource_allocations.fetch_by_keys(session, superadmin, [(absent, "cpu")])
        before = database.statements.compiled
        selects: list[object] = []
        select = sa.select

        def counted(*args: Any, **kwargs: Any) -> Any:
            selects.append(args)
            return select(*args, **kwargs)

        monkeypatch.setattr(sa, "select", counted)
        for chunk in (ids[1:3], ids[3:], [absent, ids[0]]):
            found = await kernels_repository.fetch_by_ids(session, superadmin, chunk)
            assert [k.id if k else None for k in found] == [
                None if key == absent else key for key in chunk
            ]
        pairs = [(ids[0], "cpu"), (absent, "cpu")]
        allocations = await resource_allocations.fetch_by_keys(session, superadmin, pairs)
        again = await resource_allocations.fetch_by_keys(session, superadmin, pairs[::-1])
    finally:
        await session.close()
    assert selects == []
    assert database.statements.compiled == before
    assert allocations[0] is not None
    assert allocations[0].kernel_id == ids[0]
    assert allocations[1] is None
    assert again == allocations[::-1]


async def test_a_deep_page_settles_on_one_generic_plan(
    database: Database, database_url: str
) -> None:
    """A page's LIMIT is written into its SQL (the page size is part of its shape): the
    prepared statement's generic plan then costs what its custom plans cost, and PostgreSQL
    keeps it after five custom ones instead of planning every execution again (a deep
    kernel page spent three times as long planning as executing)."""
    spec = kernels_repository.CONNECTION
    ordering = spec.resolve_order([("CREATED_AT", False)])
    async with connected(database_url) as connection:
        row = await connection.fetchrow(
            "SELECT created_at, id FROM kernels WHERE created_at IS NOT NULL "
            "ORDER BY created_at, id OFFSET 10 LIMIT 1"
        )
        assert row is not None
        cursor = encode_cursor(ordering, [row["created_at"], row["id"]])
        request = validate_page(PageArgs(first=5, after=cursor), default_size=20, max_size=100)
        query = ConnectionQuery(spec.source, spec.columns, None, ordering, request)
        page, _ = build_select(query, spec.to_record)
        _, prepared = database.statements.prepare_page(page, build=False)
        assert prepared is not None
        sql, args, _, _ = prepared
        assert "LIMIT 6" in sql
        for _ in range(8):
            assert len(await connection.fetch(sql, *args)) == 6
        plans = await connection.fetchrow(
            "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement = $1",
            sql,
        )
    assert plans is not None
    assert plans["custom_plans"] <= 5
    assert plans["generic_plans"] >= 3
