"""Two copies of the service on the same database: one with the fast execution path, one with
stock graphql-core (`fast_execution=False`). `differential.compare(...)` sends one operation
to both and requires byte-identical response bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

import app.http
from app.execution import FastExecutor
from app.main import create_app
from app.settings import Settings

REPLAY_TEST = "tests/differential/test_replay.py::test_every_operation_the_suite_sends"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The replay needs every other test to have sent its operations first.
    replay = [item for item in items if item.nodeid == REPLAY_TEST]
    for item in replay:
        items.remove(item)
        items.append(item)


@pytest.fixture(scope="session")
async def stock_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(replace(settings, fast_execution=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def fast_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(replace(settings, fast_execution=True))
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Differential:
    stock: httpx.AsyncClient
    fast: httpx.AsyncClient
    # The fast executors the fast app built since the last `compare`.
    executors: list[FastExecutor] = field(default_factory=list)
    pure_fields: int = 0
    mixed_fields: int = 0
    given_up: int = 0
    pure_results: int = 0
    loaded_fields: int = 0
    batched_items: int = 0
    batch_fallbacks: int = 0
    compared: int = 0

    async def compare(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        """Send the operation to both apps; assert the same status and the same bytes
        (`data` and `errors` first, for a readable failure); return the parsed body."""
        payload = {"query": query, "variables": variables}
        headers = {"Authorization": authorization} if authorization else {}
        self.executors.clear()
        stock = await self.stock.post("/graphql", json=payload, headers=headers)
        fast = await self.fast.post("/graphql", json=payload, headers=headers)
        expected, actual = orjson.loads(stock.content), orjson.loads(fast.content)
        context = f"query: {query}\nvariables: {variables}"
        assert fast.status_code == stock.status_code, context
        assert orjson.dumps(actual.get("data")) == orjson.dumps(expected.get("data")), context
        assert orjson.dumps(actual.get("errors")) == orjson.dumps(expected.get("errors")), context
        assert fast.content == stock.content, context
        for executor in self.executors:
            self.pure_fields += executor.pure_fields
            self.mixed_fields += executor.mixed_fields
            self.given_up += executor.given_up
            self.pure_results += executor.pure_results
            self.loaded_fields += executor.loaded_fields
            self.batched_items += executor.batched_items
            self.batch_fallbacks += executor.batch_fallbacks
        self.compared += 1
        body: dict[str, Any] = expected
        return body


@pytest.fixture
def recorded_executors(monkeypatch: pytest.MonkeyPatch) -> list[FastExecutor]:
    """The FastExecutor instances app.http builds while the test runs."""
    built: list[FastExecutor] = []

    class Recorded(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(app.http, "FastExecutor", Recorded)
    return built


@pytest.fixture
async def differential(
    stock_app: Starlette,
    fast_app: Starlette,
    superadmin_token: str,
    recorded_executors: list[FastExecutor],
) -> AsyncIterator[Differential]:
    headers = {"Authorization": f"Bearer {superadmin_token}"}
    base = "http://testserver"
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=stock_app), base_url=base, headers=headers
        ) as stock,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fast_app), base_url=base, headers=headers
        ) as fast,
    ):
        yield Differential(stock, fast, recorded_executors)
