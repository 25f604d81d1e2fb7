"""The gateway: built once from its parts, and handed to every session.

Its parts are all a query's path needs: the catalog (what the datasets are), the
policy (who may see what), the engines that read the data (`campus.engines`; each
dataset is held by one, and a query reads the datasets of one engine), the audit
trail, the noise secret, the data files of each dataset, the memory of analyses
and rewrites (cache.py), the pseudonym secret (`campus.vocabulary.pseudonyms`) and whether the sessions
it answers are sealed. A `Session` asks nothing of the campus beyond these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..catalog import Catalog, Dataset
from ..errors import QueryRejected
from .cache import Memory
from .ledger import Ledger
from .session import Session
from ..engines import Engine

if TYPE_CHECKING:
    from ..policy.decision import Decision, PolicyRequest


class PolicyInForce(Protocol):
    """What a session asks of the policy (`campus.policy.Policy`)."""

    def ask(self, request: PolicyRequest) -> Decision: ...

    def member_of(self, user: str, project: str | None) -> bool: ...

    def budgets(self, dataset: str) -> list: ...

    def noise(self, dataset: str) -> tuple[float, float]: ...


class AuditTrail(Protocol):
    """Where a session records what it did (`campus.audit.AuditLog`)."""

    def record(self, actor: str, action: str, outcome: str, *, project: str | None = None, **detail) -> int: ...


@dataclass
class Gateway:
    catalog: Catalog
    policy: PolicyInForce
    engines: dict[str, Engine]  # by name; the first is the campus's own (CAMPUS_ENGINE)
    audit: AuditTrail
    secret: int
    files: Callable[[Dataset], list[Path]]
    memory: Memory = field(default_factory=Memory)
    ledger: Ledger | None = None  # released cells and budgets; none: nothing charged (tools, tests)
    pseudonym_secret: bytes | None = None  # keys projects' pseudonyms; none: rows of people are refused
    sealed: bool = False  # the sessions asking are sealed (CAMPUS_SESSIONS_SEALED); not known: they are not

    @property
    def engine(self) -> Engine:
        """The campus's own engine: it holds every dataset that names no other."""
        return next(iter(self.engines.values()))

    def engine_for(self, datasets: list[Dataset]) -> Engine:
        """The one engine holding all of `datasets`; a refusal naming who holds what if they are apart."""
        held = {d.name: d.engine or self.engine.name for d in datasets}
        names = sorted(set(held.values()))
        if len(names) > 1:
            apart = "; ".join(f"{', '.join(sorted(d for d, e in held.items() if e == n))} on {n}" for n in names)
            raise QueryRejected(
                f"this query reads datasets held by different engines ({apart}), and one query reads the datasets "
                "of one engine: query each on its own and join the released aggregates in your notebook")
        return self.engines[names[0]] if names else self.engine

    def session(self, user: str, groups: list[str] | None = None, project: str | None = None) -> Session:
        """A researcher's session: their queries take the path one step per line."""
        return Session(self, user, list(groups or []), project)
