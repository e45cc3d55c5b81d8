"""FastExecutor.build (and .ready, for cached documents) takes long lists of strings for
list-of-ID/String variables as they are: the coerced values (and errors) are graphql-core's
for every kind of variable."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from graphql import Executor, parse
from graphql.execution import values as values_module

from app.execution import FastExecutor
from app.schema import build_schema

SCHEMA = build_schema()
# The module, not the function of the same name that graphql.utilities exports.
coerce_module = importlib.import_module("graphql.utilities.coerce_input_value")
TEN = [f"v{i}" for i in range(10)]


def _coerced(built: Any) -> Any:
    """The errors' messages, or the variables' sources and coerced values."""
    if isinstance(built, list):
        return [error.message for error in built]
    sources, coerced = built.variable_values
    return {name: source.value for name, source in sources.items()}, coerced


def _built(executor: type[Executor[Any]], variables: str, values: dict[str, Any]) -> Any:
    document = parse(f"query Q({variables}) {{ __typename }}")
    return _coerced(executor.build(SCHEMA, document, None, None, values))


CASES = [
    ("$ids: [ID!]!", {"ids": TEN}),
    ("$ids: [ID]", {"ids": TEN}),
    ("$names: [String!]", {"names": TEN}),
    ("$names: [String!]!", {"names": TEN[:3]}),  # short lists: graphql-core's own path
    ("$ids: [ID!]!", {"ids": [*TEN, 7]}),  # not all strings
    ("$ids: [ID!]!", {"ids": [*TEN, None]}),  # a null item: an error
    ("$ids: [[ID]]", {"ids": TEN}),  # each string is coerced to a list of one
    ("$statuses: [KernelV2Status!]", {"statuses": ["RUNNING"] * 10}),  # enum values
    ("$statuses: [KernelV2Status!]", {"statuses": ["NOPE"] * 10}),  # enum errors
    ("$data: [JSON]", {"data": TEN}),
    ("$name: String", {"name": TEN}),  # a list for a non-list: an error
    ("$ids: [ID!]!", {"ids": TEN, "unused": TEN}),  # undeclared: ignored
    ("$ids: [ID!]!, $more: [String]", {"ids": TEN, "more": TEN}),
    ("$ids: [ID!]!, $statuses: [KernelV2Status!]", {"ids": TEN, "statuses": ["RUNNING"] * 9}),
    ("$ids: [ID!]!", {}),  # missing: an error
]


def _ready(variables: str, values: dict[str, Any]) -> Any:
    document = parse(f"query Q({variables}) {{ __typename }}")
    return _coerced(FastExecutor.ready(SCHEMA, document, None, values, None))


@pytest.mark.parametrize(("variables", "values"), CASES)
def test_the_coerced_variables_are_graphql_cores(variables: str, values: dict[str, Any]) -> None:
    expected = _built(Executor, variables, values)
    assert _built(FastExecutor, variables, values) == expected
    assert _ready(variables, values) == expected  # a cached document's executor alike


DOCUMENT = parse(
    "query A { __typename ...F } query B($n: Int) { agentsV2(first: $n) { count } } "
    "fragment F on Query { __typename }"
)


@pytest.mark.parametrize(
    ("operation_name", "values"),
    [
        ("A", {}),
        ("B", {"n": 3}),
        ("B", {"n": "three"}),  # does not coerce: the errors are build's
        ("C", {}),  # unknown: build's error
        (None, {}),  # ambiguous: build's error
    ],
)
def test_a_ready_executor_is_the_one_build_makes(
    operation_name: str | None, values: dict[str, Any]
) -> None:
    def made(executor: Any) -> Any:
        if isinstance(executor, list):
            return [error.message for error in executor]
        return (
            executor.operation,
            executor.fragment_definitions,
            {name: details.definition for name, details in executor.fragments.items()},
            executor.variable_values,
            executor.root_value,
            executor.context_value,
            executor.field_resolver,
            executor.type_resolver,
        )

    context = object()
    expected = made(FastExecutor.build(SCHEMA, DOCUMENT, None, context, values, operation_name))
    for _ in range(2):  # found once, then from the cache
        assert (
            made(FastExecutor.ready(SCHEMA, DOCUMENT, context, values, operation_name)) == expected
        )


def test_a_long_list_of_ids_is_not_coerced_item_by_item(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = coerce_module.coerce_input_value

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    # graphql-core's coercion calls itself for each item through its module's global.
    monkeypatch.setattr(values_module, "coerce_input_value", counted)
    monkeypatch.setattr(coerce_module, "coerce_input_value", counted)
    ids = [f"id{i}" for i in range(100)]
    sources, coerced = _built(FastExecutor, "$ids: [ID!]!", {"ids": ids})
    assert calls == 2  # the empty stand-in (the non-null type, then the list)
    assert coerced["ids"] == ids
    assert coerced["ids"] is not ids  # a copy: the request's own list stays as sent
    assert sources["ids"] is ids
    calls = 0
    _built(Executor, "$ids: [ID!]!", {"ids": ids})
    assert calls == 202  # graphql-core: the same two, then two per item (ID!, then ID)
