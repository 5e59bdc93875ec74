"""The queue in front of the database (`studentgroups.slots`): in order, never over its slots,
patient while it moves, a 503 (`Stalled`) only when it stops."""

from __future__ import annotations

import random
import time

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studentgroups.slots import Slots, Stalled


def run(test: object) -> None:
    anyio.run(test)  # type: ignore[arg-type]


def test_a_queue_that_keeps_moving_serves_every_waiter_however_long_the_wait() -> None:
    async def main() -> None:
        slots = Slots(1, patience_seconds=0.2)
        served: list[int] = []

        async def request(n: int) -> None:
            async with slots.held():
                await anyio.sleep(0.05)  # each holds its slot a quarter of the patience
                served.append(n)

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(request, n)
                await anyio.sleep(0)  # each in the queue before the next arrives
        # The last waited about 1 s, five times the patience, and was served all the same.
        assert time.monotonic() - started >= 0.9
        assert served == list(range(20))  # first come, first served
        assert (slots.free, slots.waiting) == (1, 0)

    run(main)


def test_a_queue_that_stops_moving_gives_up_after_the_patience_and_keeps_no_waiter() -> None:
    async def main() -> None:
        slots = Slots(1, patience_seconds=0.2)
        await slots.acquire()  # held, and never handed back while the others wait
        outcomes: list[str] = []

        async def request() -> None:
            try:
                await slots.acquire()
            except Stalled:
                outcomes.append("stalled")
            else:
                outcomes.append("served")

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(request)
        assert outcomes == ["stalled"] * 3
        assert 0.2 <= time.monotonic() - started < 2
        assert (slots.free, slots.waiting) == (0, 0)
        slots.release()
        assert slots.free == 1

    run(main)


def test_a_waiter_cancelled_as_it_is_handed_a_slot_passes_the_slot_on() -> None:
    async def main() -> None:
        slots = Slots(1, patience_seconds=5)
        await slots.acquire()
        got: list[str] = []

        async def second() -> None:
            await slots.acquire()
            got.append("second")
            slots.release()

        scopes: list[anyio.CancelScope] = []

        async def first() -> None:
            with anyio.CancelScope() as scope:
                scopes.append(scope)
                await slots.acquire()
                got.append("first")

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await anyio.sleep(0.01)
            tg.start_soon(second)
            await anyio.sleep(0.01)
            scopes[0].cancel()  # the first in line is cancelled...
            slots.release()  # ...and handed the slot before it has left the line
        assert got == ["second"]
        assert (slots.free, slots.waiting) == (1, 0)

    run(main)


@settings(max_examples=30, deadline=None)
@given(
    count=st.integers(1, 4),
    holds=st.lists(st.integers(0, 3), min_size=1, max_size=25),
    seed=st.integers(0, 2**16),
)
def test_never_more_holders_than_slots_and_every_slot_comes_back(
    count: int, holds: list[int], seed: int
) -> None:
    rng = random.Random(seed)

    async def main() -> None:
        slots = Slots(count, patience_seconds=5)
        holding = most = 0

        async def request(hold: int) -> None:
            nonlocal holding, most
            async with slots.held():
                holding += 1
                most = max(most, holding)
                for _ in range(hold):
                    await anyio.sleep(0)
                holding -= 1

        async with anyio.create_task_group() as tg:
            for hold in holds:
                tg.start_soon(request, hold)
                if rng.random() < 0.5:
                    await anyio.sleep(0)
        assert most <= count
        assert (slots.free, slots.waiting) == (count, 0)

    run(main)


def test_a_queue_has_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Slots(0, patience_seconds=1)
