"""Run one sandbox *process* (bwrap, or the unsafe local runner) from asyncio.

Shared by the executors whose sandbox is a child process rather than a container:
the request goes to stdin, stdout is read up to a byte cap, only the tail of
stderr is kept, and the deadline is enforced from outside by killing the whole
process group (the child runs in its own session, so nothing it started survives).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence

from app.executors.outcome import STDERR_TAIL, Ending

CHUNK = 64 * 1024


async def run_process(
    argv: Sequence[str],
    stdin: bytes,
    *,
    deadline_s: float,
    output_cap: int,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
    user: int | None = None,
    group: int | None = None,
    pass_fds: Sequence[int] = (),
) -> Ending:
    started = time.monotonic()
    extra: dict[str, object] = {}
    if user is not None:
        # Drop root in the child before exec, without a preexec setuid dance.
        extra.update(user=user, group=group, extra_groups=[])
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,  # its own process group: one killpg stops it all
        preexec_fn=preexec_fn,
        pass_fds=tuple(pass_fds),
        **extra,
    )
    end = Ending(stdout=b"")
    out = bytearray()
    err = bytearray()

    async def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(stdin)
            await proc.stdin.drain()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()

    async def read_stdout() -> None:
        while chunk := await proc.stdout.read(CHUNK):
            out.extend(chunk)
            if len(out) > output_cap:
                end.output_exceeded = True
                _kill(proc)
                return

    async def read_stderr() -> None:
        while chunk := await proc.stderr.read(CHUNK):
            err.extend(chunk)
            del err[:-STDERR_TAIL]

    async def all_of_it() -> None:
        await asyncio.gather(feed(), read_stdout(), read_stderr())
        await proc.wait()

    try:
        await asyncio.wait_for(all_of_it(), timeout=deadline_s)
    except TimeoutError:
        end.timed_out = True
    finally:
        # In every outcome: nothing of the sandbox outlives the run.
        _kill(proc)
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()
        # Close our pipe ends now, not when the GC finds them (maybe after the loop ended).
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()
    end.stdout = bytes(out[:output_cap])
    end.stderr_tail = bytes(err)
    end.exit_code = proc.returncode
    end.elapsed_ms = int((time.monotonic() - started) * 1000)
    return end


def _kill(proc: asyncio.subprocess.Process) -> None:
    # Only while it is not yet reaped: a reaped pid may already belong to another
    # process group, which a killpg would hit.
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
