"""The policy as files: read and validate everything the engines decide with.

Stewards edit ``policies/*.yaml`` (grants and roles) and ``policies/campus/*.rego``;
admins edit ``hub/users.yaml``; the catalog is ``datasets/catalog.yaml``. `load` reads
them all, cross-checks the grants against the catalog and the projects, and returns a
`PolicySource`: the Rego modules and the data document (``data.campus``) an engine
compiles. Any problem raises one `ConfigError` listing every ``file:line: field``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar, get_args

from pydantic import BaseModel

from .. import yamlfile
from ..catalog import Catalog, Role
from ..errors import ConfigError
from ..provisioning import Provisioning
from ..settings import Settings
from .grants import Budget, Grant, PolicyFile, Roles, Terms

#: The decision table `campus policy test` checks; not a policy file.
EXPECTED_DECISIONS = "expected_decisions.yaml"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PolicyPaths:
    """Where the policy's files live."""

    policies: Path
    users: Path
    catalog: Path

    @classmethod
    def of(cls, settings: Settings | None = None) -> PolicyPaths:
        settings = settings or Settings()
        return cls(settings.root / "policies", settings.root / "hub" / "users.yaml", settings.catalog_path)

    def grant_files(self) -> list[Path]:
        """Every ``policies/*.yaml`` except the expected-decisions table."""
        return [p for p in sorted(self.policies.glob("*.yaml")) if p.name != EXPECTED_DECISIONS]

    def rego_files(self) -> list[Path]:
        """The policy's Rego modules (tests excluded)."""
        return [p for p in self._all_rego() if not p.name.endswith("_test.rego")]

    def rego_test_files(self) -> list[Path]:
        return [p for p in self._all_rego() if p.name.endswith("_test.rego")]

    def expected_decisions(self) -> Path:
        return self.policies / EXPECTED_DECISIONS

    def watched(self) -> list[Path]:
        """Every file whose change changes a decision."""
        return [*self.grant_files(), *self.rego_files(), self.users, self.catalog]

    def digests(self) -> dict[str, str]:
        """Each watched file (by its path under the campus's folder) and a digest of its content."""
        found = {}
        for path in self.watched():
            try:
                found[os.path.relpath(path, self.policies.parent)] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            except OSError:
                found[os.path.relpath(path, self.policies.parent)] = "missing"
        return found

    def module_name(self, path: Path) -> str:
        """A module's name for the engines: its path under ``policies/``."""
        return path.relative_to(self.policies).as_posix()

    def _all_rego(self) -> list[Path]:
        return sorted((self.policies / "campus").rglob("*.rego"))


@dataclass(frozen=True)
class PolicySource:
    """Everything an engine needs: the modules, and the validated YAML as data."""

    paths: PolicyPaths
    catalog: Catalog
    users: Provisioning
    grants: list[Grant]
    roles: Roles
    modules: dict[str, str] = field(repr=False)
    terms: list[Terms] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict, repr=False)  # `PolicyPaths.digests` as they were read

    @property
    def data(self) -> dict:
        """``data.campus``: grants, catalog, projects and roles as the Rego reads them."""
        return {
            "grants": [g.as_data() for g in self.grants],
            "terms": [t.as_data() for t in self.terms],
            "catalog": {d.name: _dataset_data(d) for d in self.catalog},
            "projects": {
                name: {"members": list(p.members), "expires": p.expires.isoformat()}
                for name, p in self.users.projects.items()
            },
            "roles": self.roles.model_dump(),
        }


def load(paths: PolicyPaths) -> PolicySource:
    """Read and validate the whole policy; one `ConfigError` lists every problem."""
    digests = paths.digests()
    catalog = _load(paths.catalog, Catalog)
    users = _load(paths.users, Provisioning)
    found = read_grant_files(paths, catalog, users)
    modules = {paths.module_name(p): p.read_text(encoding="utf-8") for p in paths.rego_files()}
    if not modules:
        found.problems.append(f"{paths.policies / 'campus'}: no Rego modules; the policy cannot decide without them")
    if found.problems:
        raise ConfigError("\n".join(found.problems))
    return PolicySource(paths, catalog, users, found.grants, found.roles or Roles(), modules, found.terms,
                        found.budgets, digests)


#: The sections of a policy file whose entries name a dataset, and what one entry is called.
NAMING_SECTIONS = (("grants", "grant"), ("terms", "terms"), ("budgets", "budget"))


def naming(paths: PolicyPaths, dataset: str) -> list[str]:
    """Every entry of the policy's files naming `dataset` (and every case of the expected decisions
    asking for it), as ``file:line: grant NAME``; read as written, so a policy that does not validate
    is searched too."""
    found = []
    for path in paths.grant_files():
        for section, called in NAMING_SECTIONS:
            found += _entries_naming(path, section, called, dataset, lambda entry: entry)
    if paths.expected_decisions().is_file():
        found += _entries_naming(paths.expected_decisions(), "cases", "case", dataset,
                                 lambda case: case.get("request") or {})
    return found


def _entries_naming(path: Path, section: str, called: str, dataset: str, asked) -> list[str]:
    """The entries of `section` in the YAML at `path` whose `asked(entry)` names `dataset`."""
    document = yamlfile.read(path)
    entries = document.get(section) if isinstance(document, dict) else None
    return [f"{path}:{entry.lc.line + 1}: {called} {entry.get('name', '(unnamed)')}"
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict) and isinstance(asked(entry), dict) and asked(entry).get("dataset") == dataset]


@dataclass
class GrantFiles:
    """What ``policies/*.yaml`` hold together, and every problem found reading them."""

    grants: list[Grant] = field(default_factory=list)
    terms: list[Terms] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    roles: Roles | None = None
    problems: list[str] = field(default_factory=list)


def read_grant_files(paths: PolicyPaths, catalog: Catalog, users: Provisioning) -> GrantFiles:
    """Every grant file, checked against `catalog` and the projects of `users`."""
    found, roles_file = GrantFiles(), None
    context = {"catalog": catalog, "projects": list(users.projects), "names": {}}
    for path in paths.grant_files():
        context["file"] = str(path)
        try:
            policy = _load(path, PolicyFile, context=context)
        except ConfigError as e:
            found.problems.append(e.reason)
            continue
        found.grants += policy.grants
        found.terms += policy.terms
        found.budgets += policy.budgets
        if policy.roles is not None:
            if found.roles is not None:
                found.problems.append(f"{path}:1: roles: roles are already given in {roles_file}; "
                                      "keep them in one file")
            found.roles, roles_file = policy.roles, path
    return found


def _load(path: Path, model: type[M], context: dict | None = None) -> M:
    try:
        return yamlfile.load(path, model, context=context)
    except ValueError as e:  # ruamel.yaml's own, e.g. for a date that does not exist (2026-13-01)
        raise ConfigError(f"{path}: not valid YAML: {e}") from None


def _dataset_data(dataset) -> dict:
    return {
        "entity": dataset.entity,
        "tier": dataset.tier,
        "steward": dataset.steward,
        "columns": {name: {"role": col.role} for name, col in dataset.columns.items()},
        "column_order": list(dataset.columns),
        "roles": {role: dataset.roles(role) for role in get_args(Role)},
        "disclosure": asdict(dataset.disclosure),
    }
