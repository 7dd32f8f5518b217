"""The seccomp filter every bubblewrap sandbox runs under, compiled with libseccomp.

Docker applies its default seccomp profile to every runner container; this gives the
bwrap sandbox the same kind of floor. Allow by default (the runner's Python, DuckDB
and pandas use hundreds of ordinary calls) and refuse, with EPERM, the calls a
data question never needs and every container escape starts with: new namespaces,
mounts, tracing other processes, the kernel keyring, eBPF, kernel modules, reboot.
Calls from another architecture (the 32-bit entry on x86-64) are killed, libseccomp's
default for a foreign architecture. bwrap reads the compiled program from a file
descriptor (`--seccomp FD`) and installs it just before it executes the runner.
"""

from __future__ import annotations

import errno
import os
from functools import lru_cache

# Refused outright (EPERM). Grouped by why; each line is one family of escape.
DENIED = (
    "unshare", "setns", "pivot_root", "chroot",  # namespaces, root changes
    "mount", "umount2", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick",  # every way to (re)mount, e.g. /tmp with exec
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",  # other processes
    "keyctl", "add_key", "request_key",  # the kernel keyring is not namespaced
    "bpf", "perf_event_open", "userfaultfd",  # kernel attack surface
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm",
    "open_by_handle_at", "name_to_handle_at",  # the shocker escape
    "io_uring_setup", "io_uring_enter", "io_uring_register",  # bypasses the checks above
)
# clone() flags that create a namespace; clone() itself stays (threads, fork).
CLONE_NAMESPACE_FLAGS = (
    0x00000080,  # CLONE_NEWTIME
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
TIOCSTI = 0x5412  # pushing input into the controlling terminal


class SeccompUnavailable(Exception):
    """libseccomp (or its Python binding) is missing; the message names the fix."""


@lru_cache(maxsize=1)
def program() -> bytes:
    """The compiled BPF program (built once per process)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: libseccomp.so.2 itself is missing
        raise SeccompUnavailable(
            f"the seccomp filter cannot be built ({exc}): install libseccomp2 "
            "(`apt-get install -y libseccomp2`) and the pinned pyseccomp (pip install "
            "'.[server]')") from None
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            flt.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            pass  # a call this kernel/libseccomp does not know cannot be made either
    for flag in CLONE_NAMESPACE_FLAGS:
        flt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc fall
    # back to clone(), whose flags the rules above see.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    with os.fdopen(os.memfd_create("corral-seccomp-build"), "w+b") as buf:
        flt.export_bpf(buf)
        buf.seek(0)
        return buf.read()


def program_fd() -> int:
    """A fresh file descriptor holding the program, for `bwrap --seccomp FD` (caller closes)."""
    fd = os.memfd_create("corral-seccomp", os.MFD_CLOEXEC)
    os.write(fd, program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
