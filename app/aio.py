"""The running event loop and task, without a system call each.

On CPython 3.11, `asyncio.get_running_loop()` - and with it `asyncio.current_task()`,
`asyncio.timeout()`, `ensure_future()` of a coroutine and a DataLoader made without a loop -
calls getpid() every time, to notice a forked child (3.12 keeps the loop in the thread
state instead). A request made 3 to 9 such calls, each a system call (1-2 us on this
service's virtual machines). Here the loop is remembered per thread, and
`asyncio.current_task(loop)`, which takes the loop and makes no such call, tells whether it
is still the one running: a loop that runs a task in this thread is this thread's running
loop, as a thread runs one loop at a time. Anything else (no task running on the
remembered loop: another loop, a callback outside a task) asks asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

_local = threading.local()


def running_loop() -> asyncio.AbstractEventLoop:
    """`asyncio.get_running_loop()` (and RuntimeError outside one, as there)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is not None and asyncio.current_task(loop) is not None:
        return loop
    loop = _local.loop = asyncio.get_running_loop()
    return loop


def current_task() -> asyncio.Task[Any] | None:
    """`asyncio.current_task()` in a running loop."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is not None:
        task = asyncio.current_task(loop)
        if task is not None:
            return task
    loop = _local.loop = asyncio.get_running_loop()
    return asyncio.current_task(loop)


class Deadline:
    """One time limit on the task that set it (see `Deadlines.limit`). Used as a plain
    `with` block: past its time the task is cancelled, and the block ends in TimeoutError
    rather than CancelledError, as `asyncio.timeout` ends; a cancellation from elsewhere
    stays a cancellation."""

    __slots__ = ("_cancelling", "_expired", "_owner", "task", "when")

    def __init__(
        self, owner: Deadlines, task: asyncio.Task[Any], when: float, cancelling: int
    ) -> None:
        self._owner = owner
        self.task = task
        self.when = when
        self._cancelling = cancelling
        self._expired = False

    def expired(self) -> bool:
        return self._expired

    def _expire(self) -> None:
        self._expired = True
        self.task.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: Any, tb: Any) -> None:
        self._owner._pending.discard(self)
        if self._expired and (
            self.task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc


class Deadlines:
    """The time limits of one service's requests, enforced by one timer per event loop
    instead of one per request: `asyncio.timeout` made a timer, three getpid() calls
    (see above) and two objects per request (about 6 us). The timer runs only while a
    limit is pending, every `tick` seconds; a task runs up to one tick past its time."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._pending: set[Deadline] = set()
        self._timer: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None

    def limit(self, seconds: float) -> Deadline:
        """A deadline `seconds` from now on the current task."""
        loop = running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        deadline = Deadline(self, task, loop.time() + seconds, task.cancelling())
        self._pending.add(deadline)
        timer = self._timer
        if timer is None or timer[0] is not loop or timer[1].cancelled():
            self._timer = (loop, loop.call_later(self.tick, self._check, loop))
        return deadline

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        # Another loop's limits (tests run one loop after another) are that loop's timer's.
        for deadline in [d for d in self._pending if d.when <= now and not d._expired]:
            if deadline.task.done():
                # Its block was left without the exit (a task destroyed while suspended).
                self._pending.discard(deadline)
            elif deadline.task.get_loop() is loop:
                deadline._expire()
        if any(d.task.get_loop() is loop for d in self._pending):
            self._timer = (loop, loop.call_later(self.tick, self._check, loop))
