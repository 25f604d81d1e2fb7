"""Campus roots for the policy tests: the real catalog and Rego, test-owned YAML.

Not a test module itself; the policy tests import from it.
"""

from __future__ import annotations

import datetime
import shutil
import textwrap
from pathlib import Path

from campus.policy import load_policy
from campus.settings import PROJECT_ROOT, Settings

NOW = datetime.datetime(2026, 11, 23, 6, 0, tzinfo=datetime.UTC)

USERS = """\
users:
  alice: {groups: [researchers]}
  bob: {groups: [researchers]}
  carol: {groups: [analysts]}
  dana: {groups: [researchers]}
  erin: {groups: [researchers]}
  frank: {groups: [researchers, analysts]}
  sejin: {groups: [stewards]}
projects:
  retail: {members: [alice], expires: 2027-06-30}
  finished: {members: [alice], expires: 2026-01-31}
"""


def campus_root(root: Path, grants: str, users: str = USERS, extra_rego: dict[str, str] | None = None) -> Path:
    """A campus configuration under `root`: the shipped catalog and Rego modules, and
    the given grants (policies/grants.yaml) and users (hub/users.yaml)."""
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "datasets" / "catalog.yaml", root / "datasets" / "catalog.yaml")
    rego = root / "policies" / "campus"
    if rego.exists():
        shutil.rmtree(rego)
    shutil.copytree(PROJECT_ROOT / "policies" / "campus", rego)
    for name, text in (extra_rego or {}).items():
        (rego / name).write_text(textwrap.dedent(text), encoding="utf-8")
    write(root / "policies" / "grants.yaml", grants)
    write(root / "hub" / "users.yaml", users)
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def policy_at(root: Path, *, interval: float = 0, **config):
    """The policy of the campus at `root`, embedded engine unless configured otherwise."""
    config.setdefault("policy_engine", "rego")
    return load_policy(Settings(root=root, **config), interval=interval)


def ask(policy, user, groups, project, dataset, columns, shape="aggregates", action="query", now=NOW, sealed=False):
    return policy.decide(user=user, groups=groups, project=project, dataset=dataset,
                         columns=columns, shape=shape, action=action, now=now, sealed=sealed)
