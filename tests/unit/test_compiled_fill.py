"""The fill of a batch plan (app.execution._compiled_fill): one generated function per plan
shape, filling an item's dict in the plan's order, with a hole per pending load."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import execution


def _plan(load: Any, non_null_child: bool) -> tuple[execution._BatchPlan, execution._BatchLoad]:
    entry = execution._BatchLoad(None, [], None, "pages")  # type: ignore[arg-type]
    entry.load = load
    entry.complete = lambda value: {"completed": value}
    child: execution._BatchPlan = [
        (execution._BATCH_PURE, "label", lambda source: source["label"].upper(), False, None)
    ]
    plan: execution._BatchPlan = [
        (execution._BATCH_PURE, "id", lambda source: source["id"], False, None),
        (execution._BATCH_OBJECT, "child", lambda source: source["child"], non_null_child, child),
        (execution._BATCH_LOAD, "pages", entry, False, None),
    ]
    return plan, entry


async def test_items_are_filled_in_order_with_holes_for_pending_loads() -> None:
    loop = asyncio.get_running_loop()
    pending = loop.create_future()
    plan, entry = _plan(lambda source: pending if source["id"] == 1 else source["id"] * 10, False)
    fill, uses = execution._compiled_fill(plan)
    holes: list[Any] = []
    first = fill({"id": 1, "child": {"label": "a"}}, holes, uses)
    second = fill({"id": 2, "child": None}, holes, uses)
    assert list(first) == ["id", "child", "pages"]
    assert first == {"id": 1, "child": {"label": "A"}, "pages": None}
    assert second == {"id": 2, "child": None, "pages": {"completed": 20}}
    [(where, key, future, complete)] = holes
    assert (where, key, future, complete) == (first, "pages", pending, entry.complete)
    pending.cancel()


async def test_a_plan_of_the_same_shape_shares_its_function() -> None:
    plan, _ = _plan(lambda source: None, False)
    other, _ = _plan(lambda source: None, False)
    strict, _ = _plan(lambda source: None, True)
    fill, uses = execution._compiled_fill(plan)
    again, other_uses = execution._compiled_fill(other)
    assert again is fill
    assert other_uses is not uses
    assert execution._compiled_fill(strict)[0] is not fill


@pytest.mark.parametrize(
    "source",
    [
        {"id": 1, "child": None},  # a null in a non-null object field
        "not a record",  # neither a dict nor a record
        {"id": 1, "child": "not a record"},
    ],
)
async def test_what_the_batch_cannot_take_gives_up(source: Any) -> None:
    plan, _ = _plan(lambda source: 1, True)
    fill, uses = execution._compiled_fill(plan)
    with pytest.raises(execution._GiveUp):
        fill(source, [], uses)


async def test_a_raising_read_raises_through() -> None:
    plan, _ = _plan(lambda source: 1, False)
    fill, uses = execution._compiled_fill(plan)
    with pytest.raises(KeyError):
        fill({"child": None}, [], uses)
