"""What a sandboxed server sees: bubblewrap's mounts, and the folders it hides.

The system is read-only; what no server may see (the raw data, the campus and hub
state, the hub account's home, the homes, and ``/run``, where the machine's services keep
their Unix sockets: PostgreSQL's, MariaDB's) is covered by empty tmpfs; what every server
needs (Python, the project) is shown again read-only; the researcher's home read-write.
``/tmp`` and ``/dev/shm`` are private tmpfs of a fixed size.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from ..settings import PROJECT_ROOT, HubSettings, Settings


def covered(path: Path, by: Path) -> bool:
    """Whether `path` is `by` or inside it.

    >>> covered(Path("/root/.pyenv"), Path("/root")), covered(Path("/rootx"), Path("/root"))
    (True, False)
    """
    return path == by or by in path.parents


PRIVATE = {Path("/dev/shm"): "1777", Path("/tmp"): "1777", Path("/run"): "0755"}  # tmpfs of the session's own


class MountPlan:
    """bubblewrap's mount arguments, built in order: a later mount covers the earlier ones.

    Starts with the system read-only, its own /proc and /dev, private /tmp and /dev/shm of
    `scratch` bytes each, and an empty /run.
    """

    def __init__(self, scratch: int | None = None) -> None:
        self.args = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
        self.mounts: list[tuple[Path, bool]] = [(Path("/"), False)]  # (where, is an empty tmpfs)
        self.made: set[Path] = set()
        for private, mode in PRIVATE.items():
            self.hide(private, size=scratch, mode=mode)

    def _innermost(self, path: Path, *, strictly: bool) -> tuple[Path, bool]:
        """The mount `path` lies in (the deepest, then the latest)."""
        found = [(len(where.parts), i, where, empty) for i, (where, empty) in enumerate(self.mounts)
                 if covered(path, where) and not (strictly and where == path)]
        return max(found)[2:]

    def hidden(self, path: Path) -> bool:
        return self._innermost(path, strictly=False)[1]

    def hide(self, path: Path, size: int | None = None, mode: str | None = None) -> None:
        """An empty tmpfs over `path` (of at most `size` bytes, with permissions `mode`)."""
        self.args += [*(["--size", str(size)] if size else []), *(["--perms", mode] if mode else []),
                      "--tmpfs", str(path)]
        self.mounts.append((path, True))

    def show(self, path: Path, *, writable: bool = False) -> None:
        """`path` bound at the same place; inside a tmpfs, the folders above it are made first
        (mode 755: bwrap would make them 700, and the researcher could not reach `path`)."""
        top, empty = self._innermost(path, strictly=True)
        if empty:
            for folder in reversed(path.parents):
                if covered(folder, top) and folder != top and folder not in self.made:
                    self.args += ["--perms", "0755", "--dir", str(folder)]
                    self.made.add(folder)
        self.args += ["--bind" if writable else "--ro-bind", str(path), str(path)]
        self.mounts.append((path, False))


def mount_args(hidden: list[Path], readonly: list[Path], home: Path, scratch: int | None = None,
               own_groups: list[Path] = ()) -> list[str]:
    """bubblewrap's mounts, in the order that keeps hidden things hidden.

    1. the system read-only, its own /proc and /dev, a private /dev/shm, /tmp (of `scratch`
       bytes) and /run (so they count as hidden);
    2. an empty tmpfs over each hidden folder;
    3. read-only again: each runtime folder (Python, the project) that a hidden folder covered,
       then hidden again: the hidden folders inside it;
    4. the researcher's home, read-write (then hidden again: hidden folders inside it);
    5. the folders that hold every session's cgroups hidden, and the session's `own_groups`
       shown again read-only (other sessions' names and memory use are not hers to read).

    >>> print(" ".join(mount_args(
    ...     hidden=[Path("/root"), Path("/srv/data"), Path("/tmp/x"), Path("/root/project/.campus"), Path("/home")],
    ...     readonly=[Path("/root/.pyenv/versions/3.11.7"), Path("/root/project"), Path("/usr")],
    ...     home=Path("/home/campus-alice"))))  # doctest: +NORMALIZE_WHITESPACE
    --ro-bind / / --proc /proc --dev /dev
    --perms 1777 --tmpfs /dev/shm --perms 1777 --tmpfs /tmp --perms 0755 --tmpfs /run
    --tmpfs /root --tmpfs /srv/data --tmpfs /home
    --perms 0755 --dir /root/.pyenv --perms 0755 --dir /root/.pyenv/versions
    --ro-bind /root/.pyenv/versions/3.11.7 /root/.pyenv/versions/3.11.7
    --ro-bind /root/project /root/project --tmpfs /root/project/.campus
    --bind /home/campus-alice /home/campus-alice
    """
    plan = MountPlan(scratch)
    for path in hidden:
        if not plan.hidden(path):
            plan.hide(path)

    def show_and_hide_inside(path: Path, writable: bool) -> None:
        plan.show(path, writable=writable)
        for inside in hidden:
            if covered(inside, path):
                plan.hide(inside)

    for path in readonly:
        if plan.hidden(path):
            show_and_hide_inside(path, writable=False)
    show_and_hide_inside(home, writable=True)
    for group in own_groups:
        if not plan.hidden(group.parent):
            plan.hide(group.parent)
        plan.show(group)
    return plan.args


def open_to_others(path: Path) -> bool:
    """Whether any Unix user could reach `path` through its permissions alone.

    True when every folder above it lets others through (o+x) and it lets them read or
    enter it (o+r or o+x).

    >>> open_to_others(Path("/usr"))
    True
    """
    for parent in path.parents:
        if not parent.stat().st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o005)



def sqlite_folder(url: str | None) -> Path | None:
    """The folder of a SQLite database URL (other databases have no folder to hide).

    >>> sqlite_folder("sqlite:////srv/campus/campus.db"), sqlite_folder("postgresql://db/campus")
    (PosixPath('/srv/campus'), None)
    """
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().parent


def hidden_from_settings(campus: Settings, hub: HubSettings, homes: Path) -> list[Path]:
    """What no server may see: the raw data, the campus and hub state (and their SQLite
    databases, wherever they are), the hub account's home, and the homes."""
    found = [campus.data, campus.state_dir, sqlite_folder(campus.database), hub.state,
             sqlite_folder(hub.db_url), Path.home(), homes]
    return list(dict.fromkeys(Path(p).resolve() for p in found if p is not None))


def runtime_folders() -> list[Path]:
    """What every server needs read-only: the Python install, the virtualenv, the project."""
    found = [sys.base_prefix, sys.prefix, PROJECT_ROOT]
    return list(dict.fromkeys(Path(p).resolve() for p in found))

