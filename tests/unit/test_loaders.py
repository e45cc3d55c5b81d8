"""The service's DataLoader: a shorter `load`, the same batching, caching and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiodataloader import Loader

from app.loaders import _Loader, batch_at_dispatch


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


async def test_the_queue_is_taken_when_aiodataloader_takes_it() -> None:
    """Loads made while a batch is being dispatched join it or the next one exactly as with
    aiodataloader's own dispatch."""
    from aiodataloader import DataLoader

    async def run(make: type[DataLoader[int, int]]) -> list[list[int]]:
        batches: list[list[int]] = []

        async def batch(keys: list[int]) -> list[int]:
            batches.append(keys)
            return keys

        loader = make(batch)
        loop = asyncio.get_running_loop()
        futures = [loader.load(0)]

        def later(key: int, steps: int) -> None:
            if steps:
                loop.call_soon(later, key, steps - 1)
            else:
                futures.append(loader.load(key))

        for steps in range(4):
            loop.call_soon(later, steps + 1, steps)
        await asyncio.sleep(0.01)
        assert [await future for future in futures] == [0, 1, 2, 3, 4]
        return batches

    theirs = await run(DataLoader)
    assert await run(_Loader) == theirs
    # A load in the step after the first joins it; later ones start the next batch.
    assert theirs == [[0, 1], [2, 3], [4]]


async def test_a_loader_made_on_one_loop_is_used_in_the_next() -> None:
    """Loaders are made per request; each binds the loop it is made on (app.aio)."""

    async def batch(keys: list[int]) -> list[int]:
        return [key + 1 for key in keys]

    def in_new_loop() -> int:
        async def main() -> int:
            value: int = await _Loader(batch).load(1)
            return value

        return asyncio.run(main())

    assert await asyncio.to_thread(in_new_loop) == 2
    assert await asyncio.to_thread(in_new_loop) == 2
    assert await _Loader(batch).load(41) == 42


async def test_batches_called_directly_start_in_the_step_loads_dispatch() -> None:
    """`batch_at_dispatch` starts its batches in the step a loader dispatches the loads made
    in the same step, so a batch that waits one step for the others started with it (as
    RequestSession.fetch_lookup does) sees them all: one statement for both."""
    started: list[str] = []
    seen_together: list[list[str]] = []

    def gathering(name: str) -> Any:
        async def batch(keys: list[int]) -> list[int]:
            started.append(name)
            if len(started) == 1:
                await asyncio.sleep(0)  # the gathering window of fetch_lookup
                seen_together.append(list(started))
            return [key * 10 for key in keys]

        return batch

    loader = _Loader(gathering("loader"))

    async def load_one() -> int:
        value: int = await loader.load(1)
        return value

    # Two resolvers of one step: one loads, the other knows all its keys.
    loaded, direct = await asyncio.gather(
        load_one(),
        batch_at_dispatch([(gathering("direct-a"), [2, 3]), (gathering("direct-b"), [4])]),
    )
    assert loaded == 10
    assert direct == [[20, 30], [40]]
    assert seen_together == [["loader", "direct-a", "direct-b"]]


async def test_batches_called_directly_fail_and_cancel_as_one() -> None:
    async def fails(keys: list[int]) -> list[int]:
        raise RuntimeError("database down")

    ran: list[list[int]] = []

    async def runs(keys: list[int]) -> list[int]:
        ran.append(keys)
        return keys

    with pytest.raises(RuntimeError, match="database down"):
        await batch_at_dispatch([(runs, [1]), (fails, [2])])
    # Cancelled before its step came: no batch is ever started.
    ran.clear()
    waiting = asyncio.ensure_future(batch_at_dispatch([(runs, [3])]))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(3):
        await asyncio.sleep(0)
    assert ran == []
