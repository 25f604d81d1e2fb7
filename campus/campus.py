"""The campus: its settings opened once per process into a gateway and the service's parts."""

from __future__ import annotations

from pathlib import Path

from . import catalog as catalog_module
from .audit import AuditLog
from .catalog import Dataset
from .gateway.gateway import Gateway
from .gateway.ledger import Ledger
from .gateway.session import Session
from .engines import Limits, open_engine
from .keys import kept_secret
from .settings import Settings


class Campus:
    """Everything a query needs: open it once, then make a session per researcher."""

    def __init__(self, settings: Settings):
        from .policy import load_policy

        self.settings = settings
        self.catalog = catalog_module.load(settings.catalog_path)
        self._files = {d.name: d.files(settings.data) for d in self.catalog}
        self.policy = load_policy(settings)
        self.engine = open_engine(
            settings.engine, [f for files in self._files.values() for f in files],
            Limits(seconds=settings.query_seconds, memory=settings.query_memory),
            temp_dir=settings.state_dir / f"{settings.engine}-tmp",
            **({"master": settings.spark_master} if settings.engine == "spark" else {}),
        )
        self.audit = AuditLog(settings.database, anchor=settings.state_dir)
        self.gateway = Gateway(self.catalog, self.policy, self.engine, self.audit,
                               noise_secret(settings.state_dir), self.files, ledger=Ledger(self.audit.engine))

    @property
    def memory(self):
        """The gateway's remembered analyses and rewrites (gateway/cache.py)."""
        return self.gateway.memory

    def files(self, dataset: Dataset) -> list[Path]:
        return self._files[dataset.name]

    def session(self, user: str, groups: list[str] | None = None, project: str | None = None) -> Session:
        return self.gateway.session(user, groups, project)

    def close(self) -> None:
        self.engine.close()
        self.audit.close()


def noise_secret(state_dir: Path) -> int:
    """The campus's noise secret (created on first use, readable by the service only)."""
    return int.from_bytes(kept_secret(Path(state_dir) / "noise.secret", 8), "big")


def open(root: Path | str | None = None, **settings) -> Campus:
    """Open the campus configured at `root` (the project's demo configuration by default)."""
    if root is not None:
        settings["root"] = Path(root)
    return Campus(Settings(**settings))
