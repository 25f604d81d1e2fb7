"""The hub's REST API as the campus admin (`HubAdmin`), and the changes (`plan`) that make
the hub's users and groups match ``hub/users.yaml``.

>>> from campus.provisioning import Provisioning
>>> wanted = desired(Provisioning.model_validate({
...     "users": {"alice": {"groups": ["researchers"]}, "root": {"groups": ["admins"]}},
...     "projects": {"old": {"members": ["alice"], "expires": "2020-01-01"},
...                  "new": {"members": ["alice"], "expires": "2999-01-01"}}}),
...     today=datetime.date(2026, 1, 1))
>>> for step in plan(wanted, HubState(users={"alice": False, "mallory": False}, groups={"project:old": {"alice"}})):
...     print(step)
add user root (admin)
add group researchers: alice
add group admins: root
add group project:new: alice
remove group project:old (a project that expired or is no longer in users.yaml)
remove user mallory
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from ..errors import HubUnavailable
from ..provisioning import Provisioning
from ..settings import HubSettings
from . import PROJECT_PREFIX
from .errors import HubRefused
from .users import Wanted, desired


@dataclass
class HubState:
    """The hub's users (name → admin) and groups (name → members)."""

    users: dict[str, bool] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One change to the hub."""

    action: Literal["add user", "set admin", "remove user", "add group", "set members", "remove group"]
    name: str
    members: tuple[str, ...] = ()
    admin: bool = False
    why: str = ""

    def __str__(self) -> str:
        text = f"{self.action} {self.name}"
        if self.action in ("add user", "set admin"):
            text += " (admin)" if self.admin else ("" if self.action == "add user" else " (not admin)")
        if self.action in ("add group", "set members"):
            text += ": " + (", ".join(self.members) or "(nobody)")
        return text + (f" ({self.why})" if self.why else "")


def plan(wanted: Wanted, hub: HubState, *, keep_others: bool = False) -> list[Step]:
    """The steps that make `hub` hold what users.yaml wants.

    Users and groups the file does not list are removed, unless `keep_others` (then
    only the projects' groups are pruned: the file owns every ``project:`` group).
    """
    steps: list[Step] = []
    for name in sorted(wanted.users):
        admin = name in wanted.admins
        if name not in hub.users:
            steps.append(Step("add user", name, admin=admin))
        elif hub.users[name] != admin:
            steps.append(Step("set admin", name, admin=admin))
    for group, members in wanted.groups.items():
        if group not in hub.groups:
            steps.append(Step("add group", group, tuple(sorted(members))))
        elif hub.groups[group] != members:
            steps.append(Step("set members", group, tuple(sorted(members))))
    for group in sorted(set(hub.groups) - set(wanted.groups)):
        if group.startswith(PROJECT_PREFIX):
            steps.append(Step("remove group", group, why="a project that expired or is no longer in users.yaml"))
        elif not keep_others:
            steps.append(Step("remove group", group, why="no user in users.yaml is in it"))
    if not keep_others:  # last: groups above may still name them
        steps += [Step("remove user", name) for name in sorted(set(hub.users) - wanted.users)]
    return steps


class HubAdmin:
    """The hub's REST API, as the campus admin (a hub service holding the admin role)."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 60):
        self.api_url = api_url.rstrip("/") + "/"
        self.http = httpx.Client(base_url=self.api_url, timeout=timeout,
                                 headers={"Authorization": f"token {token}"})

    @classmethod
    def from_settings(cls, settings: HubSettings | None = None) -> HubAdmin:
        settings = settings or HubSettings()
        return cls(settings.api, settings.admin_token())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubAdmin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        try:
            response = self.http.request(method, path, json=body)
        except httpx.TransportError as e:
            raise HubUnavailable(
                f"the hub's API at {self.api_url} did not answer ({type(e).__name__}): start the campus "
                "(scripts/up), or point CAMPUS_HUB_API_URL at the hub") from None
        if response.status_code in (401, 403):
            raise HubUnavailable(
                f"the hub refused the admin token ({response.status_code}): use the token the hub was started with "
                "(CAMPUS_HUB_TOKEN, or its <state>/admin-token file)")
        if response.status_code >= 400 and response.status_code not in ok:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            raise HubRefused(f"the hub refused {method} {path}: {response.status_code} {message}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _pages(self, path: str) -> list[dict]:
        items, offset = [], 0
        while True:
            page = self._call("GET", f"{path}?offset={offset}&limit=200")
            items += page
            if len(page) < 200:
                return items
            offset += len(page)

    # reading
    def users(self) -> list[dict]:
        return self._pages("users")

    def groups(self) -> list[dict]:
        return self._pages("groups")

    def user(self, name: str) -> dict | None:
        try:
            return self._call("GET", f"users/{name}")
        except HubRefused as e:
            if " 404 " in e.reason:
                return None
            raise

    def state(self) -> HubState:
        return HubState(users={u["name"]: bool(u.get("admin")) for u in self.users()},
                        groups={g["name"]: set(g.get("users") or []) for g in self.groups()})

    # writing
    def add_user(self, name: str, admin: bool = False) -> None:
        self._call("POST", f"users/{name}", {"admin": admin})

    def set_admin(self, name: str, admin: bool) -> None:
        self._call("PATCH", f"users/{name}", {"admin": admin})

    def remove_user(self, name: str) -> None:
        self._call("DELETE", f"users/{name}", ok=(404,))

    def add_group(self, name: str, members: list[str] | tuple[str, ...] = ()) -> None:
        self._call("POST", f"groups/{name}", {"users": list(members)})

    def add_members(self, group: str, members: list[str]) -> None:
        self._call("POST", f"groups/{group}/users", {"users": list(members)})

    def remove_members(self, group: str, members: list[str]) -> None:
        self._call("DELETE", f"groups/{group}/users", {"users": list(members)})

    def set_members(self, group: str, members: set[str], current: set[str]) -> None:
        if members - current:
            self.add_members(group, sorted(members - current))
        if current - members:
            self.remove_members(group, sorted(current - members))

    def remove_group(self, name: str) -> None:
        self._call("DELETE", f"groups/{name}", ok=(404,))

    def apply(self, steps: list[Step], hub: HubState) -> None:
        """Carry out `steps` (users first, so groups can name them)."""
        for step in steps:
            if step.action == "add user":
                self.add_user(step.name, step.admin)
            elif step.action == "set admin":
                self.set_admin(step.name, step.admin)
            elif step.action == "remove user":
                self.remove_user(step.name)
            elif step.action == "add group":
                self.add_group(step.name, step.members)
            elif step.action == "set members":
                self.set_members(step.name, set(step.members), hub.groups.get(step.name, set()))
            elif step.action == "remove group":
                self.remove_group(step.name)

    def sync(self, users: Provisioning, *, keep_others: bool = False, dry_run: bool = False,
             today: datetime.date | None = None) -> list[Step]:
        """Make the hub match `users`; returns the steps (carried out unless `dry_run`)."""
        hub = self.state()
        steps = plan(desired(users, today), hub, keep_others=keep_others)
        if not dry_run:
            self.apply(steps, hub)
        return steps
