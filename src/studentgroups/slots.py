"""The queue in front of the database: slots handed out in arrival order, on the event loop.

A request takes a slot before it takes a connection (`dependencies.get_session`), so no worker
thread ever blocks on an empty pool. How long may it wait? A fixed bound turns a burst into
errors: 1,000 learners joining in the same second queue behind one module's lock, the last of
them for longer than any sane timeout, while the queue moves all along (708 of 1,000 were
answered 503 so). So the bound is on the queue's progress, not on one request's wait: a request
waits for as long as slots keep being handed back, and gives up (`Stalled`) only when none has
been for `patience` seconds: the database stopped answering, and the answer is a 503.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio


class Stalled(Exception):
    """No slot was handed back for the whole of the patience: the database is not answering."""


class Slots:
    """`count` slots, first come first served; a waiter gives up only when the queue stalls.

    Used from one event loop only (no locks): every method runs on it.
    """

    def __init__(self, count: int, *, patience_seconds: float) -> None:
        if count < 1:
            raise ValueError("a queue needs at least one slot")
        self.free = count
        self.patience_seconds = patience_seconds
        self._waiters: deque[anyio.Event] = deque()
        self._last_progress = time.monotonic()

    @property
    def waiting(self) -> int:
        """Requests in the queue now."""
        return len(self._waiters)

    async def acquire(self) -> None:
        """Take a slot: at once if one is free and nobody is ahead, else in turn. `Stalled` if no
        slot is handed back for `patience_seconds` while waiting."""
        if self.free and not self._waiters:
            self.free -= 1
            return
        turn = anyio.Event()
        self._waiters.append(turn)
        if len(self._waiters) == 1:
            # The first in a queue times the stall from now, not from a release long ago.
            self._last_progress = time.monotonic()
        try:
            while not turn.is_set():
                with anyio.move_on_after(self.patience_seconds):
                    await turn.wait()
                if not turn.is_set() and time.monotonic() - self._last_progress >= self.patience_seconds:
                    raise Stalled
        except BaseException:
            if turn.is_set():
                self.release()  # handed a slot as it was cancelled: it goes to the next in line
            else:
                self._waiters.remove(turn)
            raise

    def release(self) -> None:
        """Hand a slot back: to the first in the queue, if anyone waits."""
        self._last_progress = time.monotonic()
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self.free += 1

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """A slot for the block."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()
