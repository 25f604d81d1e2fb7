"""The gateway: built once from its parts, and handed to every session.

Its parts are all a query's path needs: the catalog (what the datasets are), the
policy (who may see what), the engine that reads the data (`campus.engines`), the audit
trail, the noise secret, the data files of each dataset, and the memory of analyses
and rewrites (cache.py). A `Session` asks nothing of the campus beyond these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import Catalog, Dataset
from .cache import Memory
from .ledger import Ledger
from .session import Session
from ..engines import Engine


@dataclass
class Gateway:
    catalog: Catalog
    policy: object  # campus.policy.Policy: decide(...) -> Decision
    engine: Engine
    audit: object  # campus.audit.AuditLog: record(...)
    secret: int
    files: Callable[[Dataset], list[Path]]
    memory: Memory = field(default_factory=Memory)
    ledger: Ledger | None = None  # released cells and budgets; none: nothing charged (tools, tests)

    def session(self, user: str, groups: list[str] | None = None, project: str | None = None) -> Session:
        """A researcher's session: their queries take the path one step per line."""
        return Session(self, user, list(groups or []), project)
