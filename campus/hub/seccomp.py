"""The seccomp filter every sealed session runs under: no new user namespaces.

An unprivileged user namespace gives a process a root of its own (``unshare -Ur``):
no way out of the sandbox is known through it, but it is surface a notebook never needs.
bubblewrap's ``--disable-userns`` works only inside a user namespace of bubblewrap's own,
which the spawner does not make (it drops to the researcher's real account with setpriv);
so bubblewrap loads this classic BPF program instead (``--seccomp FD``), and it holds for
every process of the session:

* ``unshare`` and ``clone`` with ``CLONE_NEWUSER``: refused (EPERM);
* ``clone3``, whose flags a filter cannot read: "not implemented" (ENOSYS), so the C
  library falls back to ``clone``, which the filter can read;
* system calls of another ABI (i386, x32), which would bypass the numbers below: refused.

Only x86-64 is written here; on another machine the spawn is refused (fail closed).
"""

from __future__ import annotations

import errno
import os
import platform
import struct

from .errors import SandboxUnavailable

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
CLONE_NEWUSER = 0x10000000
SYSCALLS = {"clone": 56, "unshare": 272, "clone3": 435}  # x86-64
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ/JGE/JSET|K, BPF_RET|K
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (ARG0: its low 32 bits, little-endian)


def program() -> bytes:
    """The filter as ``struct sock_filter[]`` (what bubblewrap's ``--seccomp`` reads)."""
    deny, nosys, flags = 11, 12, 8  # the instructions' indexes below
    code = [
        (LD_ABS, 0, 0, ARCH),
        (JEQ, 0, deny - 2, AUDIT_ARCH_X86_64),
        (LD_ABS, 0, 0, NR),
        (JGE, deny - 4, 0, X32_SYSCALL_BIT),
        (JEQ, flags - 5, 0, SYSCALLS["unshare"]),
        (JEQ, flags - 6, 0, SYSCALLS["clone"]),
        (JEQ, nosys - 7, 0, SYSCALLS["clone3"]),
        (RET, 0, 0, ALLOW),
        (LD_ABS, 0, 0, ARG0),  # flags: the first argument of unshare and clone
        (JSET, deny - 10, 0, CLONE_NEWUSER),
        (RET, 0, 0, ALLOW),
        (RET, 0, 0, ERRNO | errno.EPERM),
        (RET, 0, 0, ERRNO | errno.ENOSYS),
    ]
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in code)


def program_fd() -> int:
    """A file descriptor holding the program, read from its start (the caller passes it to
    bubblewrap and closes it); refused on a machine other than x86-64."""
    if platform.machine() != "x86_64":
        raise SandboxUnavailable(f"the seccomp filter that refuses new user namespaces is written for x86_64, "
                                 f"and this machine is {platform.machine()}: add its system call numbers to "
                                 "campus/hub/seccomp.py")
    fd = os.memfd_create("campus-seccomp")
    os.write(fd, program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
