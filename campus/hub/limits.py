"""What one sealed session may use: memory, CPU, processes, and the size of its home.

The defaults are the hub's settings (``CAMPUS_SANDBOX_MEMORY``, ``_CPUS``, ``_MAX_PROCESSES``,
``_HOME_SIZE``: `SessionLimits.defaults`); ``hub/users.yaml`` sets them for a group or a project (`Limits`), and a
researcher gets, for each, the largest that any of their groups or active projects gives.

They are held by the kernel, not by good manners:

* memory, CPU and processes by a cgroup (v1) of the session's own,
  ``/sys/fs/cgroup/{memory,cpu,pids}/campus/<account>``, which every process of the
  server joins before bubblewrap starts. Over its memory the kernel's OOM killer stops the
  biggest process of *that* session (its notebook kernel), and nothing else;
* each process also gets ``RLIMIT_DATA`` at the session's memory, so one process that asks
  for too much gets a ``MemoryError`` in the notebook rather than being killed;
* the home by a filesystem image of that size, mounted over it (`campus.hub.disk`).

A cgroup that cannot be made or written fails the spawn: no session runs unlimited.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..provisioning import Limits, Provisioning
from ..settings import SandboxSettings
from .errors import SandboxUnavailable
from .users import active_projects

CGROUPS = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "pids")
CAMPUS_GROUP = "campus"
CPU_PERIOD = 100_000  # microseconds


@dataclass(frozen=True)
class SessionLimits:
    """One session's limits, in bytes, cores and processes."""

    memory: int
    cpus: float
    processes: int
    home: int

    @classmethod
    def defaults(cls, sandbox: SandboxSettings | None = None) -> SessionLimits:
        """The hub's defaults: ``CAMPUS_SANDBOX_MEMORY``, ``_CPUS``, ``_MAX_PROCESSES`` and ``_HOME_SIZE``.

        >>> SessionLimits.defaults(SandboxSettings(memory="8GiB", cpus=2, max_processes=64, home_size="1GiB"))
        SessionLimits(memory=8589934592, cpus=2.0, processes=64, home=1073741824)
        """
        sandbox = sandbox or SandboxSettings()
        return cls(memory=int(sandbox.memory), cpus=sandbox.cpus, processes=sandbox.max_processes,
                   home=int(sandbox.home_size))

    def described(self) -> dict:
        return {"memory": self.memory, "cpus": self.cpus, "processes": self.processes, "home": self.home}


def limits_of(user: str, users: Provisioning, defaults: SessionLimits) -> SessionLimits:
    """`user`'s limits: for each resource, the largest that their groups and active projects
    give in ``users.yaml``; the default where none gives one (so a group may also get less).

    >>> users = Provisioning.model_validate({
    ...     "users": {"alice": {"groups": ["researchers", "guests"]}},
    ...     "limits": {"researchers": {"memory": "6G"}, "guests": {"memory": "2G", "processes": 64}},
    ...     "projects": {"p": {"members": ["alice"], "expires": "2999-01-01", "limits": {"cpus": 2}}}})
    >>> limits_of("alice", users, SessionLimits(memory=4 * 10**9, cpus=1.0, processes=256, home=10**9))
    SessionLimits(memory=6000000000, cpus=2.0, processes=64, home=1000000000)
    """
    given: list[Limits] = [users.limits[g] for g in users.groups_of(user) if g in users.limits]
    given += [users.projects[p].limits for p, members in active_projects(users).items()
              if user in members and users.projects[p].limits is not None]
    largest = {}
    for limits in given:
        for name, value in limits.model_dump(exclude_none=True).items():
            largest[name] = max(largest.get(name, value), value)
    return replace(defaults, **{name: float(v) if name == "cpus" else int(v) for name, v in largest.items()})


class SessionGroup:
    """The session's cgroups: made and written by `apply`, joined by `join`, emptied by `remove`."""

    def __init__(self, account: str, root: Path = CGROUPS):
        self.folders = {c: root / c / CAMPUS_GROUP / account for c in CONTROLLERS}

    @property
    def memory_folder(self) -> Path:
        return self.folders["memory"]

    def apply(self, limits: SessionLimits) -> None:
        """Make the groups (if missing) and write the limits; refuse if any cannot be written."""
        try:
            for folder in self.folders.values():
                folder.mkdir(parents=True, exist_ok=True)
            memory = self.folders["memory"]
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                _write(swap, -1)  # the swap limit may never be below the memory limit: lift it first
            _write(memory / "memory.limit_in_bytes", limits.memory)
            if swap.exists():
                _write(swap, limits.memory)  # no swapping past the limit either
            _write(self.folders["cpu"] / "cpu.cfs_period_us", CPU_PERIOD)
            _write(self.folders["cpu"] / "cpu.cfs_quota_us", round(limits.cpus * CPU_PERIOD))
            _write(self.folders["pids"] / "pids.max", limits.processes)
        except OSError as e:
            raise SandboxUnavailable(f"could not set the session's limits in its cgroup ({e}); the hub needs root "
                                     f"and the cgroup v1 controllers {', '.join(CONTROLLERS)} mounted under "
                                     f"{CGROUPS}, read-write") from None

    def join(self) -> None:
        """Put the calling process in the groups (run in the child, before bubblewrap starts)."""
        for folder in self.folders.values():
            _write(folder / "cgroup.procs", os.getpid())

    def processes(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.memory_folder / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def oom_kills(self) -> int:
        """How many processes the OOM killer stopped in this session since its group was made."""
        return oom_kills(self.memory_folder)

    def remove(self, seconds: float = 10) -> None:
        """Stop whatever still runs in the session, then remove its groups."""
        deadline = time.monotonic() + seconds
        while self.processes() and time.monotonic() < deadline:
            for pid in self.processes():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for folder in self.folders.values():
            try:
                folder.rmdir()
            except OSError:
                pass  # still emptying: the next start reuses it


def oom_kills(memory_folder: Path) -> int:
    """The ``oom_kill`` count of a memory cgroup (0 if it cannot be read)."""
    try:
        for line in (memory_folder / "memory.oom_control").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _write(path: Path, value: int) -> None:
    path.write_text(f"{value}\n")
