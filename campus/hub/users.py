"""``hub/users.yaml``, the source of truth for who is on the campus, and what the hub should hold.

`UsersFile` edits the file in place: comments and order are kept (ruamel round-trip),
and every change is validated with the `Provisioning` model before the file is written.
The policy reads groups and projects from the file at every decision; `desired` says
what the hub should hold according to it (`campus.hub.api.plan` turns that into steps):

==========================  =========================================================
users.yaml                  JupyterHub
==========================  =========================================================
a user                      a hub user (allowed to sign in: ``allow_existing_users``)
a user in group ``admins``  a hub admin
a group (via its members)   a hub group of the same name
a project, not expired      a hub group ``project:<name>`` with the project's members
a project past ``expires``  no hub group
==========================  =========================================================

>>> wanted = desired(Provisioning.model_validate({
...     "users": {"alice": {"groups": ["researchers"]}, "root": {"groups": ["admins"]}},
...     "projects": {"old": {"members": ["alice"], "expires": "2020-01-01"},
...                  "new": {"members": ["alice"], "expires": "2999-01-01"}}}),
...     today=datetime.date(2026, 1, 1))
>>> wanted.admins, wanted.groups
({'root'}, {'researchers': {'alice'}, 'admins': {'root'}, 'project:new': {'alice'}})
"""

from __future__ import annotations

import datetime
import io
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .. import yamlfile
from ..errors import ConfigError
from ..provisioning import NAME, Provisioning
from . import ADMIN_GROUP, PROJECT_PREFIX, project_group


@dataclass
class Wanted:
    """What the hub should hold, according to users.yaml on a given day."""

    users: set[str]
    admins: set[str]
    groups: dict[str, set[str]]


def active_projects(users: Provisioning, today: datetime.date | None = None) -> dict[str, list[str]]:
    """Projects that have not expired (the last day counts), with their members."""
    today = today or datetime.date.today()
    return {name: list(p.members) for name, p in users.projects.items() if p.expires >= today}


def desired(users: Provisioning, today: datetime.date | None = None) -> Wanted:
    """What the hub should hold according to `users` on `today` (the table above)."""
    groups: dict[str, set[str]] = {}
    for name, user in users.users.items():
        for group in user.groups:
            groups.setdefault(group, set()).add(name)
    for project, members in active_projects(users, today).items():
        groups[project_group(project)] = set(members)
    return Wanted(set(users.users), set(groups.get(ADMIN_GROUP, ())), groups)


def project_groups_of(users: Provisioning, user: str, today: datetime.date | None = None) -> list[str]:
    """The hub groups of the active projects `user` is a member of."""
    return sorted(project_group(p) for p, members in active_projects(users, today).items() if user in members)


class UsersFile:
    """``hub/users.yaml``, changed in place and written back with its comments.

    Every method changes the document in memory; `save` validates the result with the
    `Provisioning` model and writes it atomically. Nothing is written if it is invalid.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.doc = yamlfile.read(self.path)
        if self.doc is None:
            self.doc = CommentedMap()
        self.model = self._validate()

    def _validate(self) -> Provisioning:
        try:
            return Provisioning.model_validate(self.doc)
        except ValidationError as e:
            raise ConfigError(yamlfile.describe(self.path, self.doc, e)) from None

    def _section(self, name: str) -> CommentedMap:
        if self.doc.get(name) is None:
            self.doc[name] = CommentedMap()
        return self.doc[name]

    def _user(self, name: str) -> CommentedMap:
        users = self._section("users")
        if name not in users:
            raise ConfigError(f"{name} is not a user in {self.path}; add them first: campus users add {name}")
        return users[name]

    def require_project(self, name: str) -> CommentedMap:
        projects = self._section("projects")
        if name not in projects:
            known = ", ".join(projects) or "none"
            raise ConfigError(f"there is no project {name!r} in {self.path} (projects: {known}); "
                              f"create it: campus projects add {name} --member USER --expires YYYY-MM-DD")
        return projects[name]

    # users
    def add_user(self, name: str, groups: list[str], full_name: str | None = None, email: str | None = None) -> bool:
        """Add a user, or add groups to an existing one. True if the user is new."""
        _check_name(name, "user")
        users = self._section("users")
        new = name not in users
        if new:
            entry = CommentedMap()
            if full_name:
                entry["full_name"] = full_name
            if email:
                entry["email"] = email
            entry["groups"] = _flow([])
            users[name] = entry
        entry = users[name]
        if full_name and not new:
            entry["full_name"] = full_name
        if email and not new:
            entry["email"] = email
        if entry.get("groups") is None:
            entry["groups"] = _flow([])
        for group in groups:
            _check_name(group, "group")
            if group not in entry["groups"]:
                entry["groups"].append(group)
        return new

    def remove_user(self, name: str) -> list[str]:
        """Remove a user, and from every project; returns the projects they were taken out of."""
        self._user(name)
        del self.doc["users"][name]
        left = []
        for project, entry in (self.doc.get("projects") or {}).items():
            if name in (entry.get("members") or []):
                entry["members"].remove(name)
                left.append(project)
        return left

    # groups
    def add_to_group(self, group: str, members: list[str]) -> None:
        if group.startswith(PROJECT_PREFIX):
            raise ConfigError(f"{group}: names starting with {PROJECT_PREFIX!r} are the projects' hub groups; "
                              "use campus projects instead")
        _check_name(group, "group")
        for member in members:
            entry = self._user(member)
            if entry.get("groups") is None:
                entry["groups"] = _flow([])
            if group not in entry["groups"]:
                entry["groups"].append(group)

    def remove_from_group(self, group: str, members: list[str] | None = None) -> list[str]:
        """Take `members` (or everyone) out of `group`; returns who was taken out."""
        if group not in self.groups():
            known = ", ".join(sorted(self.groups())) or "none"
            raise ConfigError(f"no user in {self.path} is in group {group!r} (groups: {known})")
        removed = []
        for name, entry in self._section("users").items():
            if (members is None or name in members) and group in (entry.get("groups") or []):
                entry["groups"].remove(group)
                removed.append(name)
        strangers = sorted(set(members or []) - set(removed))
        if strangers:
            raise ConfigError(f"not in group {group}: {', '.join(strangers)}")
        return removed

    def groups(self) -> dict[str, list[str]]:
        """Each group, with its members in file order."""
        found: dict[str, list[str]] = {}
        for name, user in self.model_now().users.items():
            for group in user.groups:
                found.setdefault(group, []).append(name)
        return found

    # projects
    def add_project(self, name: str, members: list[str], expires: datetime.date,
                    description: str | None = None) -> None:
        _check_name(name, "project")
        projects = self._section("projects")
        if name in projects:
            raise ConfigError(f"project {name} already exists; change it with campus projects members / expire")
        for member in members:
            self._user(member)
        entry = CommentedMap()
        if description:
            entry["description"] = description
        entry["members"] = _flow(list(members))
        entry["expires"] = expires
        projects[name] = entry

    def remove_project(self, name: str) -> None:
        self.require_project(name)
        del self.doc["projects"][name]

    def change_members(self, name: str, add: list[str], remove: list[str]) -> None:
        entry = self.require_project(name)
        if entry.get("members") is None:
            entry["members"] = _flow([])
        for member in add:
            self._user(member)
            if member not in entry["members"]:
                entry["members"].append(member)
        for member in remove:
            if member not in entry["members"]:
                raise ConfigError(f"{member} is not a member of project {name}")
            entry["members"].remove(member)

    def set_expiry(self, name: str, expires: datetime.date) -> None:
        self.require_project(name)["expires"] = expires

    # limits
    def set_limits(self, *, group: str | None = None, project: str | None = None, **given) -> None:
        """Set what the sessions of a group's or a project's members may use (`Limits`' fields;
        None leaves one as it is, "default" takes it back to the hub's default)."""
        if (group is None) == (project is None):
            raise ConfigError("name either a group (--group) or a project (--project) to set limits for")
        if group is not None:
            if group not in self.groups():
                raise ConfigError(f"no user is in group {group!r}: campus groups add {group} -m USER first")
            holder, key = self._section("limits"), group
        else:
            holder, key = self.require_project(project), "limits"
        entry = holder.get(key) or CommentedMap()
        for name, value in given.items():
            if value == "default":
                entry.pop(name, None)
            elif value is not None:
                entry[name] = value
        if entry:
            holder[key] = entry
        else:
            holder.pop(key, None)

    # writing
    def model_now(self) -> Provisioning:
        """The document as it is now in memory, validated."""
        return self._validate()

    def save(self) -> Provisioning:
        """Validate, then write atomically (comments and order kept)."""
        self.model = self._validate()
        buffer = io.StringIO()
        yaml = YAML(typ="rt")
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        yaml.dump(self.doc, buffer)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(tmp, self.path)
        return self.model


def _flow(items: list) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _check_name(name: str, kind: str) -> None:
    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a {kind} name: use lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter")

