"""A decision, and the request it answers.

The gateway asks about one dataset at a time: who is asking (user, groups, project),
which columns the query reads, whether it only aggregates (`shape`), and whether it
is a query or an export (`action`). The answer is a `Decision`: allow or deny, the
reasons (sentences a researcher can act on, naming the grant that decided), and the
terms the gateway must apply when it allows.

>>> d = Decision.refused("no grant gives carol access to card_usage; ask the steward sejin")
>>> d.allow, d.reason
(False, 'no grant gives carol access to card_usage; ask the steward sejin')
>>> request_document(user="alice", groups=["researchers"], dataset="card_usage",
...     columns=["district"], now=datetime.datetime(2026, 11, 23, 6, tzinfo=datetime.UTC))["now"]
'2026-11-23T06:00:00Z'
"""

from __future__ import annotations

import datetime
from dataclasses import asdict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from extractguard.rules import Disclosure

from ..catalog import PrivacyBounds
from ..errors import Denied
from .grants import Mask, Scalar

Shape = Literal["aggregates", "rows"]
Action = Literal["query", "export"]


MASK_ORDER = {None: 0, "region": 1, "hidden": 2}  # how much a mask takes away


class Binding(BaseModel):
    """Stricter terms that bind the rows they cover (policies/campus/binding.rego)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Whose terms: 'grant gangnam-retail-sales (project gangnam-retail)', 'terms ...'.")
    rows: dict[str, list[Scalar]] = Field(default_factory=dict, description="The rows covered; all when empty.")
    disclosure: Disclosure
    masks: dict[str, Mask] = Field(default_factory=dict)

    def tightens(self, disclosure: Disclosure, masks: dict[str, str]) -> list[str]:
        """What these terms make stricter than `disclosure` and `masks`, in words."""
        found = disclosure.stricter_in(self.disclosure)
        found += [f"{column} shown as {mask}" for column, mask in self.masks.items()
                  if MASK_ORDER[mask] > MASK_ORDER[masks.get(column)]]
        return found


class Decision(BaseModel):
    """What the policy decided about one request, and why.

    When `allow` is true the gateway must apply every term: show only `columns`
    (identifiers never in aggregates mode), apply `masks` and `row_filter`, check
    cells against `disclosure`, return at most `row_cap` rows in rows mode, and route
    exports by `export` (review, auto or never).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool = Field(strict=True, description="Only a policy's own true allows.")
    reasons: list[str] = Field(min_length=1, description="Sentences saying why, and what to do next.")
    grant: str | None = Field(None, description="The grant that decided, if one did.")
    mode: Shape | None = None
    columns: list[str] = Field(default_factory=list, description="The columns the requester may see.")
    masks: dict[str, Mask] = Field(default_factory=dict)
    row_filter: dict[str, list[Scalar]] = Field(default_factory=dict)
    disclosure: Disclosure | None = None
    row_cap: int | None = None
    export: Literal["review", "auto", "never"] | None = None
    binding: list[Binding] = Field(default_factory=list, description="Stricter terms binding the rows they cover.")
    protection: Literal["sdc", "dp"] = Field("sdc", description="The disclosure rules and noise, or differential privacy.")
    epsilon: float | None = Field(None, description="With dp: the ε a query spends.")
    delta: float | None = Field(None, description="With dp: the δ a query spends.")
    privacy: PrivacyBounds | None = Field(None, description="With dp: the grant's contribution bounds, if its own.")
    failed: bool = Field(False, description="True when the policy machinery failed and the deny is fail-closed.")

    @model_validator(mode="after")
    def _allow_carries_terms(self):
        if self.allow:
            missing = [f for f in ("grant", "mode", "disclosure", "row_cap", "export") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"an allow decision must carry {', '.join(missing)}")
        return self

    @property
    def reason(self) -> str:
        """The reasons as one sentence."""
        return "; ".join(self.reasons)

    def __str__(self) -> str:
        """The decision as a steward would say it: yes or no, why, and on what terms."""
        if not self.allow:
            return f"denied: {self.reason}"
        terms = [f"{self.mode} under grant {self.grant}", f"columns: {', '.join(self.columns)}"]
        terms += [f"{column} shown as {mask}" for column, mask in self.masks.items()]
        terms += [f"only rows where {column} is {', '.join(map(str, values))}"
                  for column, values in self.row_filter.items()]
        if self.disclosure is not None:
            rules = asdict(self.disclosure)
            terms.append("disclosure rules: " + ", ".join(f"{name} {value}" for name, value in rules.items()))
        if self.mode == "rows":
            terms.append(f"at most {self.row_cap:,} rows")
        terms.append(f"exports: {self.export}")
        for binding in self.stricter():
            where = "; ".join(f"{c} is {', '.join(map(str, v))}" for c, v in binding.rows.items()) or "every row"
            terms.append(f"where {where}, {binding.source} binds: {', '.join(binding.tightens(self.disclosure, self.masks))}")
        return "allowed: " + self.reason + "\n  " + "\n  ".join(terms)

    __repr__ = __str__

    def stricter(self) -> list[Binding]:
        """The binding terms that make something stricter than this decision's own."""
        if self.disclosure is None:
            return []
        return [b for b in self.binding if b.tightens(self.disclosure, self.masks)]

    def check(self) -> Decision:
        """This decision if it allows; else raise `Denied` with the reasons."""
        if not self.allow:
            raise Denied(self.reason)
        return self

    @classmethod
    def refused(cls, reason: str, grant: str | None = None) -> Decision:
        return cls(allow=False, reasons=[reason], grant=grant)


def engine_failed(detail: str) -> Decision:
    """The deny every failure of the policy machinery turns into (fail closed)."""
    reason = f"the policy engine failed: {detail}; the query was denied. Tell the steward."
    return Decision(allow=False, reasons=[reason], failed=True)


class PolicyRequest(BaseModel):
    """One question to the policy: who asks (user, groups, project), about which dataset
    and columns, in which shape, for a query or an export, when, and whether from a sealed
    session (the data service's `Settings.sessions_sealed`). Its `document` is
    exactly the input the Rego decides on (policies/campus/request.rego; a test holds the
    two field lists together). The gateway, the service, the CLI and the stewards' table
    of expected decisions all ask through it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    groups: list[str] = Field(default_factory=list)
    project: str | None = None
    dataset: str
    columns: list[str] = Field(default_factory=list)
    shape: Shape = "aggregates"
    action: Action = "query"
    now: datetime.datetime | None = Field(None, description="When it is asked (with a time zone); default: now.")
    sealed: bool = Field(False, description="Asked from a sealed session (rows of people are for those only).")

    def document(self) -> dict:
        """The Rego input. Groups and columns are sorted and deduplicated: their order never
        changes a decision, and the same request then reads the same (store.py's memory)."""
        now = self.now or datetime.datetime.now(datetime.UTC)
        if now.tzinfo is None:
            raise ValueError("now must carry a time zone")
        return {
            "user": self.user,
            "groups": sorted(set(self.groups)),
            "project": self.project,
            "dataset": self.dataset,
            "columns": sorted(set(self.columns)),
            "shape": self.shape,
            "action": self.action,
            "now": now.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
            "sealed": self.sealed,
        }


def request_document(**asked) -> dict:
    """The Rego input for a request given as keywords (see `PolicyRequest`)."""
    return PolicyRequest(**asked).document()
