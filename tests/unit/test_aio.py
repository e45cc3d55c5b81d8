"""app.aio: the running loop and task without a system call, and request deadlines."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from app.aio import Deadlines, current_task, running_loop


def test_running_loop_and_task_are_asyncios_in_every_loop_and_thread() -> None:
    seen: list[bool] = []

    async def check() -> None:
        for _ in range(2):  # the second call takes the remembered loop
            seen.append(running_loop() is asyncio.get_running_loop())
            seen.append(current_task() is asyncio.current_task())
        # A callback outside any task: the loop is still found; no task runs.
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def callback() -> None:
            done.set_result((running_loop() is loop, current_task()))

        loop.call_soon(callback)
        found, task = await done
        seen.extend([found, task is None])
        # A task of its own.
        inner = asyncio.ensure_future(asyncio.sleep(0, result=None))
        await inner
        seen.append(await asyncio.create_task(_task_is_current()))

    for _ in range(3):  # one loop after another in this thread
        asyncio.run(check())
    worker = threading.Thread(target=lambda: asyncio.run(check()))
    worker.start()
    worker.join()
    assert seen == [True] * len(seen)
    assert len(seen) == 4 * 7


async def _task_is_current() -> bool:
    return current_task() is asyncio.current_task()


def test_outside_a_loop_as_asyncio() -> None:
    with pytest.raises(RuntimeError):
        running_loop()
    with pytest.raises(RuntimeError):
        current_task()


async def test_a_deadline_cancels_its_task_and_ends_in_timeout() -> None:
    deadlines = Deadlines(tick=0.005)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError), deadlines.limit(0.02) as deadline:
        await asyncio.sleep(5)
    elapsed = loop.time() - started
    assert deadline.expired()
    assert 0.02 <= elapsed < 0.5
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0)  # the task goes on, not cancelled


async def test_a_block_within_its_time_is_untouched_and_the_timer_stops() -> None:
    deadlines = Deadlines(tick=0.005)
    with deadlines.limit(1) as deadline:
        await asyncio.sleep(0.02)
    assert not deadline.expired()
    assert not deadlines._pending
    await asyncio.sleep(0.03)
    assert deadlines._timer is None  # nothing pending: no timer runs
    # Errors inside the block pass through unchanged.
    with pytest.raises(KeyError), deadlines.limit(1):
        raise KeyError("x")
    assert not deadlines._pending


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines(tick=0.005)

    async def request() -> None:
        with deadlines.limit(10):
            await asyncio.sleep(5)

    await _cancelled_after(request(), 0.01)
    # Cancelled from elsewhere after its deadline passed too: still a cancellation.

    async def late() -> None:
        with deadlines.limit(0.01):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)  # the outer cancel arrives meanwhile
                raise

    await _cancelled_after(late(), 0.03)


async def _cancelled_after(work: Coroutine[Any, Any, None], seconds: float) -> None:
    """Runs `work` as a task, cancels it after `seconds`: it must end cancelled."""
    task = asyncio.create_task(work)
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_many_deadlines_each_end_their_own_task() -> None:
    deadlines = Deadlines(tick=0.005)

    async def request(seconds: float, work: float) -> str:
        try:
            with deadlines.limit(seconds):
                await asyncio.sleep(work)
        except TimeoutError:
            return "timeout"
        return "done"

    results = await asyncio.gather(
        *(request(0.02, 1) for _ in range(5)), *(request(1, 0.01) for _ in range(5))
    )
    assert results == ["timeout"] * 5 + ["done"] * 5
    assert not deadlines._pending


def test_deadlines_work_in_one_loop_after_another() -> None:
    deadlines = Deadlines(tick=0.005)

    async def main() -> bool:
        try:
            with deadlines.limit(0.01):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(main())
    assert asyncio.run(main())  # the first loop's timer is gone with it


async def test_a_deadline_left_behind_by_a_finished_task_is_dropped() -> None:
    deadlines = Deadlines(tick=0.005)

    async def careless() -> None:
        deadlines.limit(0.01)  # never entered, so never left

    await asyncio.create_task(careless())
    assert len(deadlines._pending) == 1
    await asyncio.sleep(0.05)
    assert not deadlines._pending
    assert deadlines._timer is None  # and the timer stops with it
