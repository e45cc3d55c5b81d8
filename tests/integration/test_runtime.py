"""The Python runtime as a started server tunes it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from app.context import RequestContext
from app.db import RequestSession
from app.execution import FastExecutor
from app.main import GC_THRESHOLDS, create_app
from app.records import Agent, AgentResourceSlot, Kernel, KernelResourceAllocation
from app.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
@pytest.mark.parametrize("tuning", [True, False])
async def test_a_started_app_freezes_its_heap_and_collects_less_often(
    settings: Settings, tuning: bool
) -> None:
    gc.unfreeze()
    defaults = gc.get_threshold()
    app = create_app(replace(settings, gc_tuning=tuning))
    async with app.router.lifespan_context(app):
        if tuning:
            assert gc.get_threshold() == GC_THRESHOLDS
            # The schema, among what was alive at start-up, is out of the collector's sight.
            assert gc.get_freeze_count() > 10_000
        else:
            assert gc.get_threshold() == defaults
            assert gc.get_freeze_count() == 0


NESTED = (
    "{ agentsV2(first: 10) { edges { node { id resourceSlots(first: 5) { count edges { node "
    "{ slotName capacity used } } } kernels(first: 5) { edges { node { id "
    "resourceAllocations { edges { node { slotName requested } } } } } } } } } }"
)


FAILING = '{ agentsV2(first: 2, after: "not a cursor") { edges { node { id } } } }'


@pytest.mark.usefixtures("demo_loaded")
@pytest.mark.parametrize("query", [NESTED, FAILING], ids=["nested", "failing"])
async def test_a_request_leaves_none_of_its_data_to_the_cyclic_collector(
    client: httpx.AsyncClient, query: str
) -> None:
    """Once a response is built, the request's cycles (a nested connection's loader kept
    by the context whose batch function refers back to it, the executor's plans and async
    helpers, a reported error's tracebacks) are broken: everything it made is freed by
    reference counting, and the cyclic collector has nothing of it to walk."""
    await client.post("/graphql", json={"query": query})  # warm: plans, statements
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        response = await client.post("/graphql", json={"query": query})
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    body = response.json()
    if query is FAILING:
        assert body["data"] is None
        assert "not a cursor" in body["errors"][0]["message"]
    else:
        assert "errors" not in body, body
        edges = body["data"]["agentsV2"]["edges"]
        assert edges
        assert any(edge["node"]["kernels"]["edges"] for edge in edges)
    records = {Agent, AgentResourceSlot, Kernel, KernelResourceAllocation}
    left = sorted({type(item).__name__ for item in garbage if type(item) in records})
    assert left == [], f"records left in reference cycles: {left}"
    # Nor the executor, the context or the session: the executor's own cycle (its async
    # helpers are bound methods of it) is broken when its response is built, and a
    # reported error's tracebacks (whose frames hold all of them) are dropped.
    request = {FastExecutor, RequestContext, RequestSession}
    held = sorted({type(item).__name__ for item in garbage if type(item) in request})
    assert held == [], f"request objects left in reference cycles: {held}"
    # Nothing at all: young collections stay rare and short (see app.execution's _finish).
    assert garbage == [], sorted({type(item).__name__ for item in garbage})
