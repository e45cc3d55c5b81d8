"""Compiled completers of lists (app.execution.compile_completer): the same answers, and
the same give-ups, as the closures they are compiled from."""

from __future__ import annotations

from typing import Any

import pytest
from graphql.type.scalars import serialize_string

from app import execution


def _completers(non_null_items: bool) -> tuple[Any, Any]:
    leaf = execution._leaf(serialize_string, non_null=False)
    node = execution._object([("name", execution._read("name", leaf))])
    item = execution._non_null(node) if non_null_items else node
    closure = execution._list(item)
    return closure, execution.compile_completer(closure, source=False)


def _outcome(complete: Any, value: Any) -> Any:
    try:
        return complete(value)
    except execution._GiveUp:
        return "gave up"


@pytest.mark.parametrize("non_null_items", [True, False])
@pytest.mark.parametrize(
    "value",
    [
        [],
        [{"name": "a"}, {"name": "b"}],
        [{"name": "a"}, None, {"name": "b"}],  # a null item: [T!] gives up, [T] keeps it
        [None],
        ({"name": "a"},),
        None,
        "not a list",
    ],
    ids=repr,
)
def test_lists_of_objects_complete_as_their_closures(non_null_items: bool, value: Any) -> None:
    closure, compiled = _completers(non_null_items)
    assert compiled is not closure
    assert _outcome(compiled, value) == _outcome(closure, value)


def test_a_list_of_non_null_objects_takes_no_wrapper_per_item() -> None:
    """[T!]: each item goes straight to the object's function; one test for a null."""
    _, compiled = _completers(non_null_items=True)
    assert not any(name.startswith("item") for name in compiled.__globals__)
    assert _outcome(compiled, [{"name": "a"}, None]) == "gave up"
    assert compiled([{"name": "a"}]) == [{"name": "a"}]
