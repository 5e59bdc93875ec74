"""Tuning of the worker process itself."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc use at most `arenas` arenas in this process; True when it took effect.

    By default glibc gives each thread that allocates an arena of its own (up to 8 per core). The
    requests' worker threads then leave freed memory spread over many arenas, and a worker's RSS
    crept up by about 1.5 MB a minute under the soak (`bench/soak.py`); with two arenas it stayed
    flat at the same throughput (docs/reliability.md, "Memory over time"). Call it before the
    threads start. Nothing is done off glibc, or when the operator set `MALLOC_ARENA_MAX`.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
