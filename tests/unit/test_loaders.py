"""The service's DataLoader: a shorter `load`, the same batching, caching and failures."""

from __future__ import annotations

import asyncio

import pytest
from aiodataloader import Loader

from app.loaders import _Loader


async def test_loads_of_one_tick_are_one_batch_and_cached() -> None:
    batches: list[list[int]] = []

    async def batch(keys: list[int]) -> list[object]:
        batches.append(keys)
        return [ValueError("odd") if key % 2 else key * 10 for key in keys]

    loader = _Loader(batch)
    first, again, second = loader.load(2), loader.load(2), loader.load(3)
    assert first is again
    # Queued as aiodataloader queues them (its dispatch reads `key` and `future`).
    assert [(type(entry), entry.key, entry.future) for entry in loader._queue] == [
        (Loader, 2, first),
        (Loader, 3, second),
    ]
    assert await first == 20
    with pytest.raises(ValueError, match="odd"):
        await second
    assert batches == [[2, 3]]
    assert await loader.load(2) == 20  # cached: no new batch
    assert batches == [[2, 3]]
    with pytest.raises(TypeError, match="must be called with a value"):
        loader.load(None)


async def test_a_failed_batch_fails_every_load_and_is_not_cached() -> None:
    calls = 0

    async def batch(keys: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database down")
        return keys

    loader = _Loader(batch)
    loads = [loader.load("a"), loader.load("b")]
    results = await asyncio.gather(*loads, return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert await loader.load("a") == "a"  # loaded again, not the cached failure
