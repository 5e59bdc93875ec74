"""The service's own clock for self-enrolment: every few seconds, allocate the parents whose
window has closed (`allocation.close_due_windows`). Every worker runs one; each allocation runs once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.enrolment.allocation import close_due_windows

logger = logging.getLogger("studentgroups.enrolment")


async def sweep_windows(
    factory: sessionmaker[Session],
    interval_seconds: float,
    database_slot: Callable[[], AbstractAsyncContextManager[None]],
) -> None:
    """Run until cancelled; a failed sweep (the database down, say) is logged and tried again.

    A sweep takes a database slot as a request does, and runs in a thread of its own: taken from
    the requests' threads, it could leave a request holding the module's lock without a thread to
    commit with, while the others wait on that lock in every other thread.
    """
    own_thread = anyio.CapacityLimiter(1)
    while True:
        try:
            async with database_slot():
                await anyio.to_thread.run_sync(close_due_windows, factory, limiter=own_thread)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("self-enrolment sweep failed; trying again in %s s", interval_seconds)
        await anyio.sleep(interval_seconds)
