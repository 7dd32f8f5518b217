"""The agent server tunes glibc malloc when app.main is imported (app/allocator.py): large
blocks stay in mmap after a bigger one was freed, threads share at most two arenas, and
an operator's MALLOC_* variable wins. Each case runs in a fresh interpreter: the settings
are process-wide and glibc reads its variables at start."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")

# Prints what tune_malloc applied, whether a 256 KiB block allocated after a freed 1 MiB
# one is mmapped, and how many malloc arenas eight threads alive at once use.
PROBE = r"""
import ctypes, json, sys, tempfile, threading
applied = {}
if sys.argv[1] == "server":
    import app.main
    from app.allocator import tune_malloc
    applied = tune_malloc()  # again: reports what the import applied
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(1 << 20))  # an mmapped MiB, freed: glibc's dynamic threshold rises
before = libc.mallinfo2().hblks
block = libc.malloc(256 << 10)
mmapped = libc.mallinfo2().hblks - before
barrier = threading.Barrier(9)
def hold():
    keep = libc.malloc(1000)  # this thread's arena is picked on its first malloc
    barrier.wait()
    barrier.wait()
    libc.free(keep)
threads = [threading.Thread(target=hold) for _ in range(8)]
for t in threads:
    t.start()
barrier.wait()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    f = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, f)
    libc.fclose(f)
    arenas = open(out.name).read().count("<heap nr=")
barrier.wait()
for t in threads:
    t.join()
print(json.dumps({"applied": applied, "mmapped": mmapped, "arenas": arenas}))
"""


def probe(kind: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", PROBE, kind], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_glibc_defaults_move_large_blocks_into_many_arenas() -> None:
    """The behaviour the tuning exists for, so that the next test can fail."""
    plain = probe("plain")
    assert plain["mmapped"] == 0
    assert plain["arenas"] > 2


def test_server_keeps_large_blocks_in_mmap_and_two_arenas() -> None:
    tuned = probe("server")
    assert tuned["applied"] == {"MALLOC_MMAP_THRESHOLD_": 128 * 1024, "MALLOC_ARENA_MAX": 2}
    assert tuned["mmapped"] == 1
    assert tuned["arenas"] <= 2


def test_operator_variable_wins() -> None:
    own = probe("server", MALLOC_ARENA_MAX="4")
    assert own["applied"] == {"MALLOC_MMAP_THRESHOLD_": 128 * 1024}
    assert 2 < own["arenas"] <= 4
