"""A dataset's versions: which Parquet files make it up, switched to in one rename.

A loaded dataset's folder holds its partitions and, beside them, ``_versions.json``::

    {"current": 2,
     "versions": [{"number": 1, "action": "add", "files": ["month=2025-01/v1-0.parquet", ...],
                   "rows": 81234, "loaded_by": "sejin", "at": "2026-12-07T14:02:11+00:00",
                   "sources": [{"name": "cards-2025-01.csv", "sha256": "…", "rows": 81234}]},
                  {"number": 2, "action": "append", "files": [...every file of version 1, and the new ones]}]}

A file is written once and never changed. A load writes its new files first (each
synced to disk), then replaces ``_versions.json`` whole by a rename, the one step that
makes the new version current: a crash at any moment before it leaves the previous
version whole and in force, and files no version names, which the next load removes.
A rollback renames in a manifest naming an older version current; no file is deleted,
so any version can be returned to. One load at a time: they hold the folder's lock.
A load that left bad lines out (``--skip-bad-lines``) writes their report beside the
manifest, ``bad-lines-v<n>.txt``, and records in each source how many it skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import LoadRefused

MANIFEST = "_versions.json"
LOCK = ".versions.lock"
FILE = re.compile(r"v\d+\.parquet")  # a load's files: file_name(number) in each partition's folder
REPORT = re.compile(r"bad-lines-v\d+\.txt")  # bad_lines_name(number)


def file_name(number: int) -> str:
    """The name of version `number`'s file in a partition's folder."""
    return f"v{number}.parquet"


def bad_lines_name(number: int) -> str:
    """The name of the report of the lines version `number`'s load left out, beside the manifest."""
    return f"bad-lines-v{number}.txt"


@dataclass(frozen=True)
class Version:
    """One version of a dataset: every file it reads, and the load that made it."""

    number: int
    action: str  # add or append
    files: list[str]
    rows: int  # rows this load added
    loaded_by: str
    at: str
    sources: list[dict] = field(default_factory=list)  # name, sha256, rows (and lines skipped) of each file loaded

    def digest(self) -> str:
        """The sha256 of the version as recorded: export provenance names it."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Versions:
    """The versions of the dataset stored at `location`."""

    def __init__(self, location: Path):
        self.location = Path(location)
        self.manifest = self.location / MANIFEST

    def exists(self) -> bool:
        return self.manifest.is_file()

    def history(self) -> list[Version]:
        return [Version(**v) for v in self._read()["versions"]]

    def current(self) -> Version | None:
        """The version queries read; None before the first load."""
        state = self._read()
        return next((v for v in self.history() if v.number == state["current"]), None)

    def files(self) -> list[Path]:
        """The current version's files."""
        current = self.current()
        return [self.location / name for name in current.files] if current else []

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's load lock: two loads at once would each miss the other's files."""
        self.location.mkdir(parents=True, exist_ok=True)
        with open(self.location / LOCK, "w") as held:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LoadRefused(f"another load is writing {self.location.name} now; wait for it to finish "
                                  "and run this again") from None
            yield

    def next_number(self) -> int:
        return max((v.number for v in self.history()), default=0) + 1

    def commit(self, version: Version) -> None:
        """Make `version` current: every file it names must be on disk already."""
        missing = [name for name in version.files if not (self.location / name).is_file()]
        if missing:
            raise LoadRefused(f"version {version.number} names files that are not there ({missing[0]}); "
                              "nothing was changed; run the load again")
        state = self._read()
        state["versions"] = [*state["versions"], asdict(version)]
        state["current"] = version.number
        self._write(state)

    def rollback(self, number: int) -> Version:
        """Make version `number` current again."""
        state = self._read()
        chosen = next((v for v in self.history() if v.number == number), None)
        if chosen is None:
            known = ", ".join(str(v.number) for v in self.history()) or "none"
            raise LoadRefused(f"{self.location.name} has no version {number}; its versions are: {known}")
        missing = [name for name in chosen.files if not (self.location / name).is_file()]
        if missing:
            raise LoadRefused(f"version {number} cannot be returned to: its file {missing[0]} is gone")
        state["current"] = number
        self._write(state)
        return chosen

    def sweep(self) -> list[Path]:
        """Remove the Parquet files no version names (left by a load that did not finish); those removed."""
        named = {name for v in self.history() for name in v.files}
        stray = [p for p in self.location.rglob("*.parquet") if p.relative_to(self.location).as_posix() not in named]
        for path in stray:
            path.unlink()
        return stray

    def remove(self) -> list[Path]:
        """Delete what loads wrote here (every version's Parquet, the bad-lines reports, the manifest) and
        the folders left empty; any other file stays. The files deleted."""
        with self.lock():
            ours = [p for p in self.location.rglob("*") if p.is_file() and (FILE.fullmatch(p.name) or REPORT.fullmatch(
                p.name) or p.name in (MANIFEST, LOCK) or p.name.startswith(f".{MANIFEST}."))]
            for path in ours:
                path.unlink()
        for folder in sorted((p for p in self.location.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(self.location.iterdir()):
            self.location.rmdir()
        return ours

    def _read(self) -> dict:
        try:
            state = json.loads(self.manifest.read_text())
        except FileNotFoundError:
            return {"current": None, "versions": []}
        except ValueError:
            raise LoadRefused(f"{self.manifest} is damaged; restore it from a backup") from None
        return state

    def _write(self, state: dict) -> None:
        """Replace the manifest whole: written beside it, synced, renamed over it, the folder synced."""
        temporary = self.location / f".{MANIFEST}.{os.getpid()}"
        with open(temporary, "w") as f:
            f.write(json.dumps(state, indent=1, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.manifest)
        sync_folder(self.location)


def sync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` last through a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def version_reading(location: Path, files: list[Path]) -> Version | None:
    """The version whose files are exactly `files` (those a running service opened); None if none is."""
    reading = {Path(f).resolve() for f in files}
    location = Path(location).resolve()
    return next((v for v in reversed(Versions(location).history())
                 if {location / name for name in v.files} == reading), None)


def files_of(location: Path) -> list[Path] | None:
    """The current version's files of a loaded dataset; None for a dataset not loaded this way."""
    versions = Versions(location)
    return versions.files() if versions.exists() else None
