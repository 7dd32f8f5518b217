"""glibc malloc settings of the agent server process, applied once when app.main is imported.

Why: under steady load the server's RSS grew about 1.5-2 MB per 1000 requests, all of
it in anonymous memory outside Python's objects (bench/soak.py; Python's own arenas and
object count stayed flat). glibc raises its mmap threshold each time a large mmapped
block is freed (request bodies near the 1 MiB limit, response buffers), so later blocks
of that size come from the malloc arenas instead, one arena per thread up to 8 per core
(asyncio's and AnyIO's worker threads, the warm pool's), where freed space stays
resident. A fixed threshold keeps large blocks in mmap (returned on free) and two arenas
bound how many heaps keep freed space; see README "Soak" for the A/B runs.

An operator's MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ in the environment wins: glibc has
read it before Python starts, and this module leaves that setting alone.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Mapping

# mallopt(3) parameter numbers (glibc malloc.h) and the values applied.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SETTINGS: dict[str, tuple[int, int]] = {
    "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, 128 * 1024),  # glibc's initial default, fixed
    "MALLOC_ARENA_MAX": (M_ARENA_MAX, 2),
}


def tune_malloc(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Apply SETTINGS the environment does not set; return what was applied ({} off glibc)."""
    if platform.libc_ver()[0] != "glibc":
        return {}
    libc = ctypes.CDLL(None)
    applied = {}
    for name, (param, value) in SETTINGS.items():
        if name not in environ and libc.mallopt(param, value) == 1:
            applied[name] = value
    return applied
