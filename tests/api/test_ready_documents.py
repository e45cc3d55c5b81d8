"""Requests for a cached document with nothing left to check go straight to the executor
(`GraphQLEndpoint._run`, `DocumentCache.ready`); every other request takes Ariadne's
`graphql`. Either way the client gets the same answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import app.http

pytestmark = pytest.mark.usefixtures("demo_loaded")

PAGE = (
    "query Page($n: Int) { resourceSlotTypes(first: $n, orderBy: [{field: RANK, direction: "
    "ASC}]) { count edges { node { slotName } } } }"
)


@pytest.fixture
def full_path(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The requests that took Ariadne's `graphql`."""
    taken: list[dict[str, Any]] = []
    stock: Callable[..., Awaitable[Any]] = app.http.graphql  # type: ignore[attr-defined]

    async def counted(schema: Any, data: Any, **options: Any) -> Any:
        taken.append(data)
        return await stock(schema, data, **options)

    monkeypatch.setattr(app.http, "graphql", counted)
    return taken


async def answer(client: httpx.AsyncClient, body: Any, method: str = "POST") -> tuple[int, Any]:
    if method == "GET":
        response = await client.get("/graphql", params=body)
    else:
        response = await client.post("/graphql", json=body)
    return response.status_code, response.json()


async def test_a_repeated_request_skips_the_checks_and_answers_alike(
    app: Starlette, client: httpx.AsyncClient, full_path: list[dict[str, Any]]
) -> None:
    documents = app.graphql_post.__self__.documents  # type: ignore[attr-defined]
    hits = documents.hits
    body = {"query": PAGE, "variables": {"n": 3}, "operationName": "Page"}
    first = await answer(client, body)
    assert first[0] == 200
    assert [e["node"]["slotName"] for e in first[1]["data"]["resourceSlotTypes"]["edges"]] == [
        "cpu",
        "mem",
        "cuda.device",
    ]
    assert len(full_path) == 1
    for n in (3, 5):
        again = await answer(client, {**body, "variables": {"n": n}})
        assert again[0] == 200
        assert len(again[1]["data"]["resourceSlotTypes"]["edges"]) == n
    assert await answer(client, body) == first
    assert len(full_path) == 1  # the document was checked once
    assert documents.hits == hits + 3  # and taken from the cache three times


FILTERED = "query F($f: ResourceSlotTypeFilter) { resourceSlotTypes(filter: $f) { count } }"


def nested_filter(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"slotName": {"equals": "cpu"}}
    for _ in range(levels):
        value = {"AND": [value]}
    return value


@pytest.mark.parametrize(
    "body",
    [
        # A validation error: the document is cached with it.
        {"query": "{ resourceSlotTypes { nope } }"},
        # Variables that are not an object, an operation name that is not a string.
        {"query": PAGE, "variables": [1]},
        {"query": PAGE, "operationName": 7},
        # Over the input depth limit with these variables (the document itself is fine).
        {"query": FILTERED, "variables": {"f": nested_filter(30)}},
    ],
    ids=["invalid", "variables", "name", "limits"],
)
async def test_requests_with_something_to_report_take_the_full_path_every_time(
    client: httpx.AsyncClient, full_path: list[dict[str, Any]], body: dict[str, Any]
) -> None:
    # The documents are cached and valid where they can be: good requests ran them.
    for warm in (
        {"query": PAGE, "variables": {"n": 1}, "operationName": "Page"},
        {"query": FILTERED, "variables": {"f": nested_filter(2)}},
    ):
        status, answered = await answer(client, warm)
        assert status == 200
        assert "errors" not in answered
    full_path.clear()
    first = await answer(client, body)
    again = await answer(client, body)
    assert first == again
    assert first[1]["errors"]
    assert len(full_path) == 2


async def test_an_error_in_execution_is_answered_alike_on_both_paths(
    client: httpx.AsyncClient, full_path: list[dict[str, Any]]
) -> None:
    """Variables that do not coerce and a page argument out of range fail in execution,
    after every check passed: the answer of the first request (full path, the document is
    new) and of the second (straight to the executor) are the same."""
    cases: list[dict[str, Any]] = [
        {"query": PAGE.replace("Page(", "Coerce("), "variables": {"n": "three"}},
        {"query": PAGE.replace("Page(", "Range("), "variables": {"n": -1}},
        # A name the document does not define, or none where it defines two: graphql-core's
        # errors, on both paths.
        {"query": PAGE.replace("Page(", "Named("), "operationName": "Other"},
        {"query": PAGE.replace("Page(", "Two(") + " query B { __typename }"},
    ]
    for body in cases:
        full_path.clear()
        first = await answer(client, body)
        again = await answer(client, body)
        assert first == again
        assert first[1]["errors"], first
        assert full_path == [body]


async def test_queries_only_over_get(
    client: httpx.AsyncClient, full_path: list[dict[str, Any]]
) -> None:
    """GET runs queries only; a cached query runs straight to the executor over GET too."""
    params = {"query": "query Q { __typename }", "operationName": "Q"}
    assert await answer(client, params, "GET") == (200, {"data": {"__typename": "Query"}})
    assert await answer(client, params, "GET") == (200, {"data": {"__typename": "Query"}})
    assert len(full_path) == 1


ROOTS = (
    "query Roots($with: Boolean!) { __typename "
    "a: resourceSlotTypes(first: 1) { count } "
    "b: resourceSlotTypes(first: 2) @include(if: $with) { count } }"
)


async def test_root_fields_are_collected_once_only_when_no_variable_decides_them(
    client: httpx.AsyncClient,
) -> None:
    """A static query's root fields and plan are kept per operation (FastExecutor's
    `execute_operation`); a root field included by a variable is collected per request."""
    from app.execution import _ROOTS

    static = "query Static { __typename a: resourceSlotTypes(first: 1) { count } }"
    for _ in range(3):
        status, body = await answer(client, {"query": static})
        assert status == 200
        assert body == {"data": {"__typename": "Query", "a": {"count": 14}}}

    def kept_for(name: str) -> list[Any]:
        return [e for e in _ROOTS.values() if e[0].name is not None and e[0].name.value == name]

    kept = kept_for("Static")
    assert len(kept) == 1
    assert list(kept[0][3][1]) == ["__typename", "a"]  # the collected root fields
    for include in (True, False, True):
        status, body = await answer(client, {"query": ROOTS, "variables": {"with": include}})
        assert status == 200
        expected: dict[str, Any] = {"__typename": "Query", "a": {"count": 14}}
        if include:
            expected["b"] = {"count": 14}
        assert body == {"data": expected}
    assert not kept_for("Roots")
