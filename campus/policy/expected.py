"""The stewards' table of expected decisions (``policies/expected_decisions.yaml``).

Each case is a request and what the policy must answer: allow or deny, a piece of the
reasons, and any terms worth pinning (grant, mode, columns, masks, row filter,
thresholds, row cap, export). `campus policy test` runs the table against the policy
in force, so a change to a grant that changes an answer shows up before it ships.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .. import yamlfile
from .decision import Decision, PolicyRequest, Shape
from .grants import Mask, Scalar


class Request(PolicyRequest):
    """Who asks what (a `PolicyRequest`). Groups come from hub/users.yaml unless given; now is
    the table's unless given."""

    groups: list[str] | None = None


class Expect(BaseModel):
    """What the decision must say; only the fields given are checked."""

    model_config = ConfigDict(extra="forbid")

    allow: bool
    reason: str = Field(description="A piece of the reasons.")
    grant: str | None = None
    mode: Shape | None = None
    columns: list[str] | None = None
    masks: dict[str, Mask] | None = None
    row_filter: dict[str, list[Scalar]] | None = None
    disclosure: dict[str, float] | None = Field(None, description="Only the thresholds given are compared.")
    row_cap: int | None = None
    export: str | None = None
    bound_by: list[str] | None = Field(
        None, description="Pieces of the sources of the stricter terms binding the rows they cover (none: [])."
    )


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    request: Request
    expect: Expect


class ExpectedDecisions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: datetime.datetime = Field(description="When the cases are decided, unless a case says otherwise.")
    cases: list[Case]


@dataclass
class Checked:
    case: Case
    decision: Decision
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def load(path: Path) -> ExpectedDecisions:
    return yamlfile.load(path, ExpectedDecisions)


def check_all(policy, table: ExpectedDecisions) -> list[Checked]:
    """Decide every case with `policy` (a campus.policy.Policy) and compare."""
    results = []
    for case in table.cases:
        asked = case.request
        groups = asked.groups if asked.groups is not None else policy.groups_of(asked.user)
        fields = asked.model_dump() | {"groups": groups, "now": _aware(asked.now or table.now)}
        decision = policy.ask(PolicyRequest(**fields))
        results.append(Checked(case, decision, differences(case.expect, decision)))
    return results


def differences(expect: Expect, decision: Decision) -> list[str]:
    """How `decision` differs from `expect`, one sentence per difference."""
    found = []
    if decision.allow != expect.allow:
        found.append(f"expected {'allow' if expect.allow else 'deny'}, got {'allow' if decision.allow else 'deny'}")
    if expect.reason not in decision.reason:
        found.append(f"the reasons do not mention {expect.reason!r}")
    if expect.bound_by is not None:
        sources = [b.source for b in decision.stricter()]
        matched = [piece for piece in expect.bound_by if any(piece in source for source in sources)]
        if matched != expect.bound_by or len(sources) != len(expect.bound_by):
            found.append(f"bound_by: expected {expect.bound_by!r}, got {sources!r}")
    for name in sorted(expect.model_fields_set - {"allow", "reason", "bound_by"}):
        wanted, got = getattr(expect, name), _plain(getattr(decision, name))
        if name == "disclosure" and got is not None:
            got = {k: v for k, v in got.items() if k in wanted}
        if got != wanted:
            found.append(f"{name}: expected {wanted!r}, got {got!r}")
    return found


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return asdict(value)
    return value.model_dump() if isinstance(value, BaseModel) else value


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
