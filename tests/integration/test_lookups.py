"""Lookups by key started in the same step run as one statement (RequestSession.fetch_lookup):
each gets exactly the records it gets alone, a failure reaches every one of them, and
cancelling the one that runs the statement cancels the rest."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from app.auth import Caller, Role
from app.db import Database, Lookup, RequestSession, lookups_in
from app.repositories import (
    agent_resources,
    agents,
    kernels,
    resource_allocations,
    resource_slot_types,
)
from app.tables import agents as AGENTS
from app.tables import kernels as KERNELS
from app.tables import resource_allocations as ALLOCATIONS

pytestmark = pytest.mark.usefixtures("demo_loaded")


async def _keys(database: Database) -> dict[str, Any]:
    session = database.session()
    try:
        agent_ids = [r["id"] for r in await session.fetch_all(sa.select(AGENTS.c.id).limit(3))]
        kernel_rows = await session.fetch_all(
            sa.select(KERNELS.c.id, KERNELS.c.domain_name, KERNELS.c.user_uuid).limit(3)
        )
        pairs = await session.fetch_all(
            sa.select(ALLOCATIONS.c.kernel_id, ALLOCATIONS.c.slot_name).limit(4)
        )
    finally:
        await session.close()
    return {
        "agents": [*agent_ids, "no-such-agent"],
        "slots": [(agent_ids[0], "cpu"), (agent_ids[0], "mem"), ("no-such-agent", "cpu")],
        "names": ["cpu", "mem", "cuda.device", "nope"],
        "kernels": [*(r["id"] for r in kernel_rows), UUID(int=7)],
        "allocations": [(r["kernel_id"], r["slot_name"]) for r in pairs],
        "first_kernel": kernel_rows[0],
    }


def _fetches(session: RequestSession, caller: Caller, keys: dict[str, Any]) -> list[Any]:
    """The five lookups, each as a function starting it."""
    return [
        lambda: agents.fetch_by_ids(session, keys["agents"]),
        lambda: agent_resources.fetch_by_keys(session, keys["slots"]),
        lambda: resource_slot_types.fetch_by_names(session, keys["names"]),
        lambda: kernels.fetch_by_ids(session, caller, keys["kernels"]),
        lambda: resource_allocations.fetch_by_keys(session, caller, keys["allocations"]),
    ]


async def _together(session: RequestSession, caller: Caller, keys: dict[str, Any]) -> list[Any]:
    return list(await asyncio.gather(*(start() for start in _fetches(session, caller, keys))))


@pytest.mark.parametrize("role", ["superadmin", "admin", "user"])
async def test_lookups_together_answer_as_each_alone(database: Database, role: Role) -> None:
    """Every column type of every lookup (JSONB read as text, numerics, UUIDs, timestamps)
    comes back through the combined statement as it does alone, for each role's scope."""
    keys = await _keys(database)
    first = keys["first_kernel"]
    caller = Caller(
        key_id="k", user_uuid=first["user_uuid"], domain=first["domain_name"], role=role
    )
    statements: list[Any] = []
    database.listeners.append(statements.append)
    try:
        alone = []
        for index in range(5):
            session = database.session()
            try:
                alone.append(await _fetches(session, caller, keys)[index]())
            finally:
                await session.close()
        assert len(statements) == 5
        statements.clear()
        session = database.session()
        try:
            together = await _together(session, caller, keys)
            assert session.statements == 1
        finally:
            await session.close()
    finally:
        database.listeners.remove(statements.append)
    assert together == alone
    assert [len(lookups_in(statement)) for statement in statements] == [5]
    assert any(record is not None for records in alone for record in records)
    assert all(record is None for record in (alone[0][-1], alone[1][-1], alone[2][-1]))
    # Twice more: the combined statement's shape is compiled once and reused.
    compiled = database.statements.compiled
    for _ in range(2):
        session = database.session()
        try:
            assert await _together(session, caller, keys) == alone
        finally:
            await session.close()
    assert database.statements.compiled == compiled


async def test_a_lookup_alone_runs_its_own_statement(database: Database) -> None:
    keys = await _keys(database)
    statements: list[Any] = []
    database.listeners.append(statements.append)
    session = database.session()
    try:
        found = await agents.fetch_by_ids(session, keys["agents"])
    finally:
        await session.close()
        database.listeners.remove(statements.append)
    assert [record.id if record else None for record in found] == [*keys["agents"][:3], None]
    assert len(statements) == 1
    assert lookups_in(statements[0]) == statements


def _failing(tag_seen: list[str]) -> Lookup:
    def build(tag: str) -> sa.Select[Any]:
        tag_seen.append(tag)
        return sa.select(sa.literal_column("1 / 0", sa.Integer()).label("n"))

    return Lookup(("failing",), None, {}, build)


async def test_a_failing_statement_fails_every_lookup_in_it(database: Database) -> None:
    keys = await _keys(database)
    session = database.session()
    tags: list[str] = []
    try:
        outcomes = await asyncio.gather(
            agents.fetch_by_ids(session, keys["agents"]),
            session.fetch_lookup(_failing(tags)),
            resource_slot_types.fetch_by_names(session, keys["names"]),
            return_exceptions=True,
        )
        assert tags == ["_1"]  # built as the second of three lookups in one statement
        assert all(isinstance(outcome, Exception) for outcome in outcomes), outcomes
        assert len({type(outcome) for outcome in outcomes}) == 1
        # The session is still usable: the next lookup runs.
        assert (await resource_slot_types.fetch_by_names(session, ["cpu"]))[0] is not None
    finally:
        await session.close()


async def test_cancelling_the_lookup_that_runs_them_cancels_the_others(
    database: Database,
) -> None:
    keys = await _keys(database)
    session = database.session()
    try:
        leader = asyncio.ensure_future(agents.fetch_by_ids(session, keys["agents"]))
        follower = asyncio.ensure_future(resource_slot_types.fetch_by_names(session, ["cpu"]))
        await asyncio.sleep(0)  # both have started; the first waits for the step to end
        leader.cancel()
        results = await asyncio.gather(leader, follower, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results), results
        assert session.statements == 0
    finally:
        await session.close()
