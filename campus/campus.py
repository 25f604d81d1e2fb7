"""The campus: its settings opened once per process into a gateway and the service's parts."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from . import catalog as catalog_module
from .audit import AuditLog
from .catalog import Dataset
from .gateway.gateway import Gateway
from .gateway.ledger import Ledger
from .gateway.session import Session
from .engines import Limits, open_engine
from .errors import CampusError, ConfigError
from .ingest.versions import Versions
from .keys import kept_secret
from .settings import Settings

log = logging.getLogger(__name__)


class Campus:
    """Everything a query needs: open it once, then make a session per researcher."""

    def __init__(self, settings: Settings):
        from .policy import load_policy

        self.settings = settings
        self.policy = load_policy(settings)
        self._catalog_stamp = None
        self.catalog, self._catalog_stamp = self._catalog_now()
        self._files = {d.name: self._files_of(d) for d in self.catalog}
        self._looked_at, self._refreshing, self._last_warning = time.monotonic(), threading.Lock(), None
        self.engines = {name: self._open_engine(name) for name in self.engine_names()}
        self.audit = AuditLog.of(settings)
        self._record_policy(self.policy.store.source)
        self.policy.store.on_load.append(self._record_policy)
        self.gateway = Gateway(self.catalog, self.policy, self.engines, self.audit,
                               noise_secret(settings.state_dir), self.files, ledger=Ledger(self.audit.engine),
                               pseudonym_secret=pseudonym_secret(settings.state_dir), sealed=settings.sessions_sealed)

    def _record_policy(self, source) -> None:
        """Record in the audit trail a policy in force whose files differ from the last one recorded
        (the stewards' grant edits, the admins' users.yaml and catalog changes)."""
        if source is None:
            return
        before = self.audit.events(limit=1, action="policy_in_force")
        held = before[0]["detail"].get("files", {}) if before else {}
        changed = sorted(name for name in source.digests.keys() | held.keys()
                         if source.digests.get(name) != held.get(name))
        if changed:
            self.audit.record("campus", "policy_in_force", "loaded", changed=changed, files=source.digests)

    def engine_names(self) -> list[str]:
        """The campus's own engine, then every other engine a dataset names."""
        own = self.settings.engine
        return [own] + sorted({d.engine for d in self.catalog if d.engine not in (None, own)})

    def holder(self, dataset: Dataset) -> str:
        """The name of the engine holding `dataset`."""
        return dataset.engine or self.settings.engine

    def _files_of(self, dataset: Dataset) -> list:
        """The dataset's Parquet files; on S3, its location, which only Spark reads (through S3A)."""
        if isinstance(dataset.location(self.settings.data), str):
            if self.holder(dataset) != "spark":
                raise ConfigError(f"{dataset.name} is on S3 ({dataset.source}), which only the spark engine reads: "
                                  "give the dataset `engine: spark` in the catalog")
            return [dataset.source]
        return dataset.files(self.settings.data)

    def _engine_files(self, name: str, catalog, files: dict) -> list:
        """The files engine `name` reads: those of the datasets it holds in `catalog`."""
        return [f for d in catalog if self.holder(d) == name for f in files[d.name]]

    def _open_engine(self, name: str):
        """Engine `name` over the files of the datasets it holds, and no others."""
        settings = self.settings
        files = self._engine_files(name, self.catalog, self._files)
        options = {"master": settings.spark_master, "conf": settings.spark_conf} if name == "spark" else {}
        return open_engine(name, files, Limits(seconds=settings.query_seconds, memory=settings.query_memory),
                           temp_dir=settings.state_dir / f"{name}-tmp", **options)

    @property
    def engine(self):
        """The campus's own engine (CAMPUS_ENGINE)."""
        return self.engines[self.settings.engine]

    @property
    def memory(self):
        """The gateway's remembered analyses and rewrites (gateway/cache.py)."""
        return self.gateway.memory

    def files(self, dataset: Dataset) -> list[Path]:
        return self._files[dataset.name]

    def session(self, user: str, groups: list[str] | None = None, project: str | None = None) -> Session:
        self.refresh()
        return self.gateway.session(user, groups, project)

    def refresh(self) -> bool:
        """Serve the catalog in force and every loaded dataset's version as they are now: after a
        steward's edit of the catalog (once the policy has loaded it), `campus datasets add`, `append`
        or `rollback`, the engines whose files changed are opened again over the new files (looked at
        once per ``policy_reload_interval``); an old engine is left to finish the queries it runs. A
        catalog naming a dataset without data leaves everything as it was (the log says why). True if
        anything changed."""
        if time.monotonic() - self._looked_at < self.settings.policy_reload_interval:
            return False
        with self._refreshing:
            self._looked_at = time.monotonic()
            try:
                catalog, stamp = self._catalog_now()
                files = {d.name: self._files_of(d) if catalog is not self.catalog or self._loaded(d)
                         else self._files[d.name] for d in catalog}
            except (CampusError, OSError) as e:
                self._warn(f"kept serving the catalog and the datasets' versions in force: "
                           f"{getattr(e, 'reason', e)}")
                return False
            before = {name: self._engine_files(name, self.catalog, self._files) for name in self.engines}
            self.catalog, self.gateway.catalog, self._files, self._catalog_stamp = catalog, catalog, files, stamp
            changed = [name for name in self.engine_names() if name not in before
                       or self._engine_files(name, catalog, files) != before[name]]
            for name in changed:  # replaced, not closed: a query running on the old one finishes there
                self.engines[name] = self._open_engine(name)
            if changed:
                log.info("serving the catalog and dataset versions in force now on %s", ", ".join(changed))
            return bool(changed)

    def _catalog_now(self) -> tuple[catalog_module.Catalog, tuple | None]:
        """The catalog in force: the policy's, so that decisions and the gateway read one catalog;
        the file's while no policy is loaded (every decision is then a deny)."""
        self.policy.store.refresh()  # at its own interval
        source = self.policy.store.source
        if source is not None:
            return source.catalog, None
        stamp = _stamp(self.settings.catalog_path)
        if stamp == self._catalog_stamp:
            return self.catalog, stamp
        return catalog_module.load(self.settings.catalog_path), stamp

    def _warn(self, message: str) -> None:
        """Log `message` once, not at every look."""
        if message != self._last_warning:
            log.warning("%s", message)
        self._last_warning = message

    def _loaded(self, dataset: Dataset) -> bool:
        """Whether the dataset was loaded by `campus datasets add` (it has versions)."""
        where = dataset.location(self.settings.data)
        return not isinstance(where, str) and Versions(where).exists()

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.audit.close()


def _stamp(path: Path) -> tuple:
    """A file's modification time and size: what changes when it is edited."""
    try:
        st = Path(path).stat()
    except OSError:
        return (None, None)
    return (st.st_mtime_ns, st.st_size)


def noise_secret(state_dir: Path) -> int:
    """The campus's noise secret (created on first use, readable by the service only)."""
    return int.from_bytes(kept_secret(Path(state_dir) / "noise.secret", 8), "big")


def pseudonym_secret(state_dir: Path) -> bytes:
    """The secret projects' pseudonym keys are derived from: 256 bits of its own, not the
    noise secret's 64 (created on first use, readable by the service only)."""
    return kept_secret(Path(state_dir) / "pseudonym.secret", 32)


def open(root: Path | str | None = None, **settings) -> Campus:
    """Open the campus configured at `root` (the project's demo configuration by default)."""
    if root is not None:
        settings["root"] = Path(root)
    return Campus(Settings(**settings))
