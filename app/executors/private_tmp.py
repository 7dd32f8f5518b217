"""A per-run tmpfs mounted on the host with noexec, nosuid and nodev, for root-mode bwrap.

bwrap has no mount options for its own --tmpfs, and a remount inside the sandbox
would need the mount() call that its seccomp filter refuses. A bind mount keeps
the flags of its source, so the sandbox's /tmp is bound from this mount: code inside
can write there but never execute what it wrote, and cannot remount it (no
capabilities, and mount() is refused by the filter).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile

MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class PrivateTmp:
    def __init__(self, size_bytes: int) -> None:
        self.size_bytes = size_bytes
        self.path = ""

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix="corral-sandbox-tmp-")
        options = f"size={self.size_bytes},mode=1777".encode()
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        if _libc.mount(b"tmpfs", self.path.encode(), b"tmpfs", flags, options) != 0:
            err = ctypes.get_errno()
            os.rmdir(self.path)
            raise OSError(err, f"cannot mount a tmpfs for the sandbox: {os.strerror(err)}",
                          self.path)
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path:
            _libc.umount2(self.path.encode(), MNT_DETACH)
            os.rmdir(self.path)
            self.path = ""
