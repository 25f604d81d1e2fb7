"""Grants: what the stewards write in ``policies/*.yaml``.

A grant says who (users, groups, a project) may see which dataset, how (only checked
aggregates, or rows), which columns, masked how, filtered to which rows, under which
disclosure thresholds, for what purpose and until when. The models here validate a
policy file against the catalog and the provisioning file, so a typo is an error that
names file, line and field, never a grant that silently gives nothing (or too much).
The Rego in ``policies/campus/`` decides with the validated grants as its data.

>>> grant = Grant.model_validate({"name": "air", "groups": ["researchers"],
...     "dataset": "air_quality", "mode": "rows", "columns": "all", "purpose": "Study smog."})
>>> grant.as_data()["row_cap"], grant.as_data()["export"]
(10000, 'review')
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
import re
from dataclasses import fields
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    ValidationInfo,
    field_validator,
    model_validator,
)

from extractguard.rules import TIGHTER, Disclosure

from ..catalog import Catalog, Dataset, PrivacyBounds

#: The masks a grant may put on a column, and what each does. The gateway's rewriter
#: applies them; an unknown mask name is a validation error.
MASKS = {
    "region": "coarsen a district (gu) column to the region it lies in, as the catalog's regions on it say",
    "hidden": "the column returns null",
}
Mask = Literal["region", "hidden"]

#: Roles a filter may restrict rows by (never identifiers or measures).
FILTERABLE = ("dimension", "quasi_identifier", "time")

DEFAULT_ROW_CAP = 10_000
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
Scalar = str | int | float | bool | datetime.date


# -- cross-checks against the catalog (the loader passes it as validation context) --


def _catalog(info: ValidationInfo) -> Catalog | None:
    return (info.context or {}).get("catalog")


def _dataset(info: ValidationInfo) -> Dataset | None:
    """The catalog entry of the grant being validated, once its dataset is known good."""
    catalog, name = _catalog(info), info.data.get("dataset")
    return catalog.datasets.get(name) if catalog is not None and name else None


def _known_column(column: str, info: ValidationInfo) -> str:
    dataset = _dataset(info)
    if dataset is not None and column not in dataset.columns:
        raise ValueError(f"{dataset.name} has no column {column!r}; its columns are: {', '.join(dataset.columns)}")
    return column


def _filterable_column(column: str, info: ValidationInfo) -> str:
    _known_column(column, info)
    dataset = _dataset(info)
    if dataset is not None and dataset.columns[column].role not in FILTERABLE:
        role = dataset.columns[column].role
        raise ValueError(f"rows can be filtered only by {', '.join(FILTERABLE)} columns; {column} is a {role}")
    return column


ColumnName = Annotated[str, AfterValidator(_known_column)]
FilterColumn = Annotated[str, AfterValidator(_filterable_column)]
Columns = Annotated[
    Annotated[Literal["all"], Tag("columns[all]")] | Annotated[list[ColumnName], Tag("columns[list]")],
    Discriminator(lambda v: "columns[all]" if isinstance(v, str) else "columns[list]"),
]


def _tightening() -> type[BaseModel]:
    """Some of a dataset's `Disclosure`, each only stricter: the model a grant's
    ``disclosure:`` is, made from `Disclosure` itself (its fields, bounds and words)."""
    types = get_type_hints(Disclosure)
    parameters = {
        f.name: (types[f.name] | None, Field(None, **{
            **f.metadata,
            "description": f"{f.metadata['description']} Only {TIGHTER[f.name]} than the dataset's.",
        }))
        for f in fields(Disclosure)
    }
    return create_model("Tightening", __config__=ConfigDict(extra="forbid"),
                        __doc__="Disclosure thresholds a grant sets stricter than its dataset's defaults.", **parameters)


Tightening = _tightening()


class Who(BaseModel):
    """A list of users and groups (as in the roles section)."""

    model_config = ConfigDict(extra="forbid")

    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    def includes(self, user: str, groups: list[str]) -> bool:
        """Whether `user` (member of `groups`) is one of these."""
        return user in self.users or bool(set(groups) & set(self.groups))


class Roles(BaseModel):
    """Who reviews exports and who administers the campus."""

    model_config = ConfigDict(extra="forbid")

    export_reviewers: Who = Field(default_factory=Who, description="May approve or reject export requests.")
    administrators: Who = Field(default_factory=Who, description="Administer users, projects and the service.")


def unique_name(name: str, info: ValidationInfo) -> str:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a grant name: use lower-case letters, digits and dashes")
    seen = (info.context or {}).get("names")
    if seen is not None:
        if name in seen:
            raise ValueError(f"grant name {name} is already used in {seen[name]}; names must be unique")
        seen[name] = (info.context or {}).get("file", "this file")
    return name


def known_project(project: str | None, info: ValidationInfo) -> str | None:
    known = (info.context or {}).get("projects")
    if project is not None and known is not None and project not in known:
        projects = ", ".join(known) or "none"
        raise ValueError(f"there is no project {project!r} in hub/users.yaml; projects: {projects}")
    return project


def known_dataset(name: str, info: ValidationInfo) -> str:
    catalog = _catalog(info)
    if catalog is not None and name not in catalog.datasets:
        raise ValueError(f"there is no dataset {name!r} in the catalog; it has: {', '.join(catalog.datasets)}")
    return name


def region_masks_districts(masks: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    dataset = _dataset(info)
    for column, mask in masks.items():
        if mask != "region":
            continue
        if not (column == "district" or column.endswith("_district")):
            raise ValueError(f"the region mask coarsens district columns; {column} is not one")
        if dataset is not None and column in dataset.columns and not dataset.columns[column].regions:
            raise ValueError(f"the region mask needs the regions of {dataset.name}.{column}: declare them on the "
                             "column in datasets/catalog.yaml (regions: {region: [district, ...]})")
    return masks


def only_tightens(disclosure, info: ValidationInfo):
    dataset = _dataset(info)
    if disclosure is not None and dataset is not None:
        loosened = dataset.disclosure.loosened_by(disclosure.model_dump())
        if loosened:
            raise ValueError(f"on {dataset.name}: " + "; ".join(loosened))
    return disclosure


class Grant(BaseModel):
    """One grant. Who it names:

    * ``users`` and ``groups`` name people directly: a requester named in either matches;
    * ``project`` scopes the grant to requests made in that project by its members (and,
      when users or groups are also given, only those of them). It never applies outside
      the project, nor after the project expires.

    Rows of a dataset with identifier columns (rows of people) are granted only to a
    project: its members see the identifiers as the project's own pseudonyms, in sealed
    sessions only (policies/campus/checks.rego).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique name, lower-case with dashes; reasons and the audit log cite it.")
    users: list[str] = Field(default_factory=list, description="Users this grant names.")
    groups: list[str] = Field(default_factory=list, description="Groups this grant names.")
    project: str | None = Field(None, description="A project from hub/users.yaml; the grant applies only within it.")
    dataset: str = Field(description="A dataset of datasets/catalog.yaml.")
    effect: Literal["allow", "deny"] = Field("allow", description="deny takes the dataset away and beats every allow.")
    mode: Literal["aggregates", "rows"] | None = Field(
        None, description="aggregates (default): only checked aggregates come back; rows: row-level results."
    )
    columns: Columns | None = Field(None, description="The columns shown: a list, or all. Required for allow grants.")
    masks: dict[ColumnName, Mask] = Field(default_factory=dict, description="Column -> mask: " + "; ".join(
        f"{name}: {what}" for name, what in MASKS.items()))
    row_filter: dict[FilterColumn, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="Column -> the only values whose rows are seen."
    )
    disclosure: Tightening | None = Field(None, description="Thresholds stricter than the dataset's.")
    row_cap: int | None = Field(
        None, ge=1, description=f"Most rows a rows-mode result returns (default {DEFAULT_ROW_CAP})."
    )
    export: Literal["review", "auto", "never"] | None = Field(
        None, description="review (default): a steward approves each export; auto: released once checked; never."
    )
    protection: Literal["sdc", "dp"] = Field(
        "sdc", description="sdc: the disclosure rules and seeded noise; dp: differential privacy (OpenDP), each "
        "query spending epsilon.")
    epsilon: float | None = Field(None, gt=0, le=10, description="With protection dp: the ε one query spends.")
    delta: float = Field(1e-6, gt=0, lt=1e-3, description="With protection dp: the δ one query spends.")
    privacy: PrivacyBounds | None = Field(
        None, description="With protection dp: contribution bounds for this grant, instead of the catalog's.")
    purpose: str = Field(min_length=1, description="Why the grant exists, in a sentence.")
    valid_from: datetime.date | None = Field(None, description="First day the grant applies.")
    valid_until: datetime.date | None = Field(None, description="Last day the grant applies (inclusive).")

    _unique_name = field_validator("name")(lambda name, info: unique_name(name, info))
    _known_project = field_validator("project")(lambda project, info: known_project(project, info))
    _known_dataset = field_validator("dataset")(lambda name, info: known_dataset(name, info))
    _region_masks_districts = field_validator("masks")(lambda masks, info: region_masks_districts(masks, info))
    _only_tightens = field_validator("disclosure")(lambda disclosure, info: only_tightens(disclosure, info))

    @model_validator(mode="after")
    def _rows_of_people_go_to_a_project(self, info: ValidationInfo):
        catalog = _catalog(info)
        dataset = catalog.datasets.get(self.dataset) if catalog is not None else None
        identifiers = dataset.roles("identifier") if dataset is not None else []
        if self.effect == "allow" and self.mode == "rows" and identifiers and self.project is None:
            raise ValueError(
                f"rows of {self.dataset} carry identifiers ({', '.join(identifiers)}), so they are granted only to a "
                "project, whose members see them as the project's pseudonyms: add `project: <a project of "
                "hub/users.yaml>`, or grant mode: aggregates")
        return self

    @model_validator(mode="after")
    def _complete(self):
        if not (self.users or self.groups or self.project):
            raise ValueError("a grant must name users, groups or a project")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError(f"valid_from {self.valid_from} is after valid_until {self.valid_until}")
        if self.effect == "deny":
            extra = [f for f in ("mode", "columns", "disclosure", "row_cap", "export") if getattr(self, f) is not None]
            extra += [f for f in ("masks", "row_filter") if getattr(self, f)]
            if extra:
                raise ValueError(f"a deny grant takes the whole dataset away; remove {', '.join(extra)}")
        else:
            if self.columns is None:
                raise ValueError("an allow grant must say which columns it shows: a list, or all")
            if self.protection == "dp" and (self.epsilon is None or self.mode == "rows"):
                raise ValueError("a grant with protection dp is in aggregates mode and says the epsilon a query spends")
            shown = None if self.columns == "all" else set(self.columns)
            unseen = [c for c in self.masks if shown is not None and c not in shown]
            if unseen:
                raise ValueError(f"masks name columns the grant does not show: {', '.join(unseen)}")
        return self

    def as_data(self) -> dict:
        """The grant as the Rego sees it: every key present, defaults filled in."""
        allow = self.effect == "allow"
        return {
            "name": self.name,
            "users": list(self.users),
            "groups": list(self.groups),
            "project": self.project,
            "dataset": self.dataset,
            "effect": self.effect,
            "mode": (self.mode or "aggregates") if allow else None,
            "columns": self.columns if allow else [],
            "masks": dict(self.masks),
            "row_filter": {c: [_plain(v) for v in vs] for c, vs in self.row_filter.items()},
            "disclosure": self.disclosure.model_dump(exclude_none=True) if self.disclosure else {},
            "row_cap": (self.row_cap or DEFAULT_ROW_CAP) if allow else None,
            "export": (self.export or "review") if allow else None,
            "protection": self.protection,
            "epsilon": _decimal(self.epsilon),  # as text: rego-cpp refuses numbers with exponents (1e-06)
            "delta": _decimal(self.delta),
            "privacy": self.privacy.model_dump() if self.privacy else None,
            "purpose": self.purpose,
            "valid_from": _plain(self.valid_from),
            "valid_until": _plain(self.valid_until),
        }


class Terms(BaseModel):
    """Terms that bind every use of some rows of a dataset, whoever asks and under any grant:
    an agreement with the data's owners (say, a business association's 20-store minimum
    for its district). The gateway applies them cell by cell, to the cells that hold
    rows they cover, wherever they are stricter than the grant in use.

    >>> Terms.model_validate({"name": "gangnam", "dataset": "sales_by_location", "rows": {"district": ["Gangnam-gu"]},
    ...     "disclosure": {"min_entities": 20}, "purpose": "Agreed."}).as_data()["rows"]
    {'district': ['Gangnam-gu']}
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique name, lower-case with dashes; decisions and the report cite it.")
    dataset: str = Field(description="A dataset of datasets/catalog.yaml.")
    rows: dict[FilterColumn, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="Column -> values: the rows the terms cover (all rows if empty)."
    )
    disclosure: Tightening | None = Field(None, description="Thresholds stricter than the dataset's.")
    masks: dict[ColumnName, Mask] = Field(default_factory=dict, description="Masks on the covered rows.")
    purpose: str = Field(min_length=1, description="Why the terms exist, in a sentence: whose agreement.")

    _unique_name = field_validator("name")(lambda name, info: unique_name(name, info))
    _known_dataset = field_validator("dataset")(lambda name, info: known_dataset(name, info))
    _only_tightens = field_validator("disclosure")(lambda disclosure, info: only_tightens(disclosure, info))
    _region_masks_districts = field_validator("masks")(lambda masks, info: region_masks_districts(masks, info))

    def as_data(self) -> dict:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "rows": {c: [_plain(v) for v in vs] for c, vs in self.rows.items()},
            "disclosure": self.disclosure.model_dump(exclude_none=True) if self.disclosure else {},
            "masks": dict(self.masks),
            "purpose": self.purpose,
        }


class Budget(BaseModel):
    """How many distinct cells of a dataset may be released in a period, queries and
    exports alike: to each of some users (and members of groups), or to a project's members
    together. A cell released before costs nothing again (campus/gateway/ledger.py).

    >>> Budget.model_validate({"name": "monthly", "dataset": "card_usage", "cells": 5000,
    ...     "each": {"groups": ["researchers"]}, "purpose": "Limits averaging."}).scope_word()
    'each of groups researchers'
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique name, lower-case with dashes; refusals and `campus budget` cite it.")
    dataset: str = Field(description="A dataset of datasets/catalog.yaml.")
    cells: int | None = Field(None, ge=1, description="Distinct cells that may be released in each period.")
    epsilon: float | None = Field(
        None, gt=0, le=100, description="The ε that differential-privacy queries may spend in each period (they add up).")
    per: Literal["day", "week", "month"] = Field("month", description="The period; it renews at its start.")
    each: Who | None = Field(None, description="Each of these users, and each member of these groups, on their own.")
    project: str | None = Field(None, description="A project of hub/users.yaml: its members together.")
    purpose: str = Field(min_length=1, description="Why the budget exists, in a sentence.")

    _unique_name = field_validator("name")(lambda name, info: unique_name(name, info))
    _known_dataset = field_validator("dataset")(lambda name, info: known_dataset(name, info))
    _known_project = field_validator("project")(lambda project, info: known_project(project, info))

    @model_validator(mode="after")
    def _one_scope(self):
        if self.cells is None and self.epsilon is None:
            raise ValueError("a budget caps cells, epsilon, or both; give one")
        if (self.each is None) == (self.project is None):
            raise ValueError("a budget is for `each:` of some users and groups, or for one `project:`; give one")
        return self

    def scope_word(self) -> str:
        if self.project is not None:
            return f"project {self.project}"
        who = [f"users {', '.join(self.each.users)}"] * bool(self.each.users)
        who += [f"groups {', '.join(self.each.groups)}"] * bool(self.each.groups)
        return "each of " + " and ".join(who)


class PolicyFile(BaseModel):
    """One steward's policy file: grants, terms, budgets, and (in one file only) the roles."""

    model_config = ConfigDict(extra="forbid")

    roles: Roles | None = Field(None, description="Who reviews exports and who administers; in one file only.")
    grants: list[Grant] = Field(default_factory=list)
    terms: list[Terms] = Field(default_factory=list, description="Terms that bind some rows of a dataset for everyone.")
    budgets: list[Budget] = Field(default_factory=list, description="Disclosure budgets: released cells per period.")


def _decimal(value: float | None) -> str | None:
    """A number as plain decimal text, never with an exponent.

    >>> _decimal(1e-06), _decimal(0.5), _decimal(None)
    ('0.000001', '0.5', None)
    """
    return None if value is None else format(Decimal(repr(value)), "f")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def json_schema() -> str:
    """The policy files' JSON Schema, for editors (published as policies/grants.schema.json)."""
    schema = PolicyFile.model_json_schema()
    schema["title"] = "Big Data Campus access policy (grants)"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
