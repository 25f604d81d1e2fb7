"""The campus's JupyterHub: its settings, and how admins provision it.

Three things live here, used by ``hub/jupyterhub_config.py`` and by the admin
commands (``campus users|groups|projects``):

* `HubSettings` and `OidcSettings` — every setting of the hub, read from the
  environment (``CAMPUS_HUB_*``, ``CAMPUS_OIDC_*``), each declared once with its
  default and help. ``hub/README.md`` lists them (a test checks it does).
* `UsersFile` — ``hub/users.yaml`` edited in place: comments and order are kept
  (ruamel round-trip), and every change is validated with the `Provisioning` model
  before the file is written. The file is the source of truth: the policy reads
  groups and projects from it at every decision.
* `HubAdmin` and `plan` — the hub's REST API, and the changes that make the hub's
  users and groups match the file.
* `Passwords` and `FailedLogins` — campus accounts (``CAMPUS_HUB_AUTH=native``):
  argon2 hashes that admins set with ``campus users password``, and the lock that
  follows too many wrong passwords.

How the file maps onto the hub:

==========================  =========================================================
users.yaml                  JupyterHub
==========================  =========================================================
a user                      a hub user (allowed to sign in: ``allow_existing_users``)
a user in group ``admins``  a hub admin
a group (via its members)   a hub group of the same name
a project, not expired      a hub group ``project:<name>`` with the project's members
a project past ``expires``  no hub group: `plan` deletes it
==========================  =========================================================

>>> project_group("gangnam-retail")
'project:gangnam-retail'
>>> from campus.provisioning import Provisioning
>>> wanted = desired(Provisioning.model_validate({
...     "users": {"alice": {"groups": ["researchers"]}, "root": {"groups": ["admins"]}},
...     "projects": {"old": {"members": ["alice"], "expires": "2020-01-01"},
...                  "new": {"members": ["alice"], "expires": "2999-01-01"}}}),
...     today=datetime.date(2026, 1, 1))
>>> wanted.admins, wanted.groups
({'root'}, {'researchers': {'alice'}, 'admins': {'root'}, 'project:new': {'alice'}})
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
import io
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .. import yamlfile
from ..errors import CampusError, ConfigError, HubUnavailable
from ..provisioning import NAME, Provisioning
from ..settings import PROJECT_ROOT, Settings

ADMIN_GROUP = "admins"
PROJECT_PREFIX = "project:"
DATA_SERVICE = "data"
ADMIN_SERVICE = "campus-admin"


def project_group(project: str) -> str:
    """The hub group holding a project's members."""
    return PROJECT_PREFIX + project


class HubRefused(CampusError):
    """The hub answered, and said no."""

    code = "hub_refused"


# --------------------------------------------------------------------------- settings


class HubSettings(BaseSettings):
    """The campus hub, from ``CAMPUS_HUB_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_HUB_")

    bind_url: str = Field("http://127.0.0.1:8000",
                          description="Where people reach the campus (the proxy listens here).")
    internal_url: str = Field("http://127.0.0.1:8081",
                              description="Where the hub itself listens (its REST API is under /hub/api).")
    proxy_api_url: str = Field("http://127.0.0.1:8001", description="The proxy's own REST API (loopback only).")
    proxy: Path | None = Field(None, description="The node configurable-http-proxy [default: .venv/node/"
                                                 "node_modules/.bin/configurable-http-proxy, installed by "
                                                 "scripts/node-proxy].")
    state_dir: Path | None = Field(None, description="The hub's database, cookie secret, admin token and "
                                                    "account passwords [default: <CAMPUS_STATE_DIR>/hub].")
    db_url: str | None = Field(None, description="The hub's own database (SQLAlchemy URL) [default: SQLite in "
                                                 "state_dir; postgresql://... to scale out].")
    auth: Literal["native", "oidc"] = Field("native", description="native: campus accounts (admins create them and "
                                            "set passwords); oidc: campus SSO (the CAMPUS_OIDC_* settings).")
    spawner: str = Field("local", description="local: a server per Unix user (LocalProcessSpawner); simple: no "
                                              "Unix users, for tests only; sandbox: the bubblewrap spawner; or a "
                                              "class path.")
    data_service: bool = Field(True, description="Run the data service (`campus serve`) as the managed service `data`.")
    data_url: str = Field("http://127.0.0.1:8300", description="Where the data service listens (loopback).")
    data_user: str | None = Field(None, description="The Unix user the data service runs as (the only one that can "
                                                    "read the raw data) [default: the hub's].")
    cull_idle: int = Field(3600, ge=0, description="Stop notebook servers idle this many seconds (0: never).")
    max_failed_logins: int = Field(5, ge=1, description="Wrong passwords in a row before a name is locked "
                                                        "(native sign-in); four times as many from one address "
                                                        "lock the address.")
    lockout_seconds: int = Field(600, ge=1, description="How long a locked name or address waits before the next try.")
    api_url: str | None = Field(None, description="The hub's REST API for the admin commands [default: "
                                                  "JUPYTERHUB_API_URL, else <internal_url>/hub/api].")
    token: SecretStr | None = Field(None, description="The admin commands' API token [default: the one the hub "
                                                      "keeps in <state_dir>/admin-token].")
    users_file: Path | None = Field(None, description="The provisioning file [default: <CAMPUS_ROOT>/hub/users.yaml].")

    @property
    def state(self) -> Path:
        return self.state_dir or Settings().state_dir / "hub"

    @property
    def users_path(self) -> Path:
        return self.users_file or Settings().root / "hub" / "users.yaml"

    @property
    def proxy_command(self) -> Path:
        return self.proxy or PROJECT_ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def token_file(self) -> Path:
        return self.state / "admin-token"

    @property
    def password_file(self) -> Path:
        return self.state / "passwords"

    @property
    def api(self) -> str:
        url = self.api_url or os.environ.get("JUPYTERHUB_API_URL") or self.internal_url.rstrip("/") + "/hub/api"
        return url.rstrip("/") + "/"

    def admin_token(self, *, create: bool = False) -> str:
        """The admin API token: CAMPUS_HUB_TOKEN, else the hub's token file (made if `create`)."""
        if self.token is not None:
            return self.token.get_secret_value()
        try:
            return self.token_file.read_text().strip()
        except FileNotFoundError:
            if not create:
                raise HubUnavailable(
                    f"no admin token: set CAMPUS_HUB_TOKEN, or start the hub once (it writes {self.token_file}) "
                    "and run this as a user who can read that file") from None
        except PermissionError:
            raise HubUnavailable(f"cannot read {self.token_file}: run this as the campus admin, or set "
                                 "CAMPUS_HUB_TOKEN") from None
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(32)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        return token


class OidcSettings(BaseSettings):
    """Campus SSO (``CAMPUS_HUB_AUTH=oidc``), from ``CAMPUS_OIDC_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_OIDC_")

    issuer: str | None = Field(None, description="The OpenID provider (its /.well-known/openid-configuration "
                                                 "gives the endpoints not set below).")
    client_id: str | None = Field(None, description="The hub's client id at the provider.")
    client_secret: SecretStr | None = Field(None, description="The hub's client secret.")
    authorize_url: str | None = Field(None, description="[default: discovered from the issuer]")
    token_url: str | None = Field(None, description="[default: discovered from the issuer]")
    userinfo_url: str | None = Field(None, description="[default: discovered from the issuer]")
    callback_url: str | None = Field(None, description="Registered at the provider [default: "
                                                       "<CAMPUS_HUB_BIND_URL>/hub/oauth_callback].")
    scopes: str = Field("openid profile email groups", description="The scopes asked for, space-separated.")
    username_claim: str = Field("preferred_username", description="The claim that is the campus user name.")
    groups_claim: str = Field("groups", description="The claim that lists the user's groups.")
    allowed_groups: str | None = Field(None, description="Who may sign in, comma-separated [default: every group "
                                                         "in users.yaml].")
    admin_groups: str = Field(ADMIN_GROUP, description="Members are hub admins, comma-separated.")

    def endpoints(self) -> dict[str, str]:
        """The three endpoints, discovered from the issuer where not set."""
        found = {"authorize_url": self.authorize_url, "token_url": self.token_url, "userinfo_url": self.userinfo_url}
        if all(found.values()):
            return found  # type: ignore[return-value]
        if not self.issuer:
            raise ConfigError("campus SSO needs CAMPUS_OIDC_ISSUER (or all of CAMPUS_OIDC_AUTHORIZE_URL, "
                              "CAMPUS_OIDC_TOKEN_URL and CAMPUS_OIDC_USERINFO_URL)")
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            meta = httpx.get(url, timeout=15).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as e:
            raise ConfigError(f"cannot read the OpenID configuration at {url} ({e}); check CAMPUS_OIDC_ISSUER, or "
                              "set the CAMPUS_OIDC_*_URL endpoints") from None
        keys = {"authorize_url": "authorization_endpoint", "token_url": "token_endpoint",
                "userinfo_url": "userinfo_endpoint"}
        return {name: value or meta[keys[name]] for name, value in found.items()}


def split(names: str | None) -> set[str]:
    """``"a, b,,c"`` → ``{"a", "b", "c"}``."""
    return {n.strip() for n in (names or "").split(",") if n.strip()}


# --------------------------------------------------------------------------- the file


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


# --------------------------------------------------------------------------- campus accounts

MIN_PASSWORD = 10


class Passwords:
    """The campus accounts' passwords: argon2id hashes, one ``name:hash`` a line, in a file
    only the hub's user can read (``<state_dir>/passwords``, mode 0600).

    Admins set them (``campus users password``); the hub's authenticator checks them.
    Nothing but the hash is stored.

    >>> import tempfile
    >>> passwords = Passwords(Path(tempfile.mkdtemp()) / "passwords")
    >>> passwords.set("alice", "correct horse battery")
    >>> attempts = [("alice", "correct horse battery"), ("alice", "wrong"), ("bob", "x")]
    >>> [passwords.verify(name, password) for name, password in attempts]
    [True, False, False]
    >>> "correct" in passwords.path.read_text(), oct(passwords.path.stat().st_mode & 0o777)
    (False, '0o600')
    """

    hasher = PasswordHasher()
    _dummy = None

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        return dict(line.split(":", 1) for line in lines if ":" in line)

    def _write(self, hashes: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(f"{name}:{digest}\n" for name, digest in hashes.items())
        os.replace(tmp, self.path)

    def names(self) -> set[str]:
        return set(self._read())

    def set(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters (a few words make a good one); "
                              "or let the campus make one: campus users password NAME --generate")
        hashes = self._read()
        hashes[name] = self.hasher.hash(password)
        self._write(hashes)

    def generate(self, name: str) -> str:
        """Give `name` a new strong password; returns it (it is kept only as a hash)."""
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        self.set(name, password)
        return password

    def remove(self, *names: str) -> list[str]:
        hashes = self._read()
        gone = [name for name in names if hashes.pop(name, None) is not None]
        if gone:
            self._write(hashes)
        return gone

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s; as slow for unknown names as for known ones."""
        digest = self._read().get(name)
        if digest is None:
            if Passwords._dummy is None:
                Passwords._dummy = self.hasher.hash(secrets.token_hex(16))
            digest, password = Passwords._dummy, password + "\0"  # spend the same time, never match
        try:
            return self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False


class FailedLogins:
    """Wrong passwords in a row lock a name (and, four times as many, an address) for a while.

    A lock holds even against the right password. When it ends, one more wrong password
    locks again at once; a right one clears the count. Kept in the hub's memory.

    >>> now = [0.0]
    >>> limit = FailedLogins(max_failures=3, lockout_seconds=60, clock=lambda: now[0])
    >>> for _ in range(3):
    ...     limit.failed("alice", "10.0.0.1")
    >>> limit.locked("alice", "10.0.0.1"), limit.locked("bob", "10.0.0.2")
    (60.0, 0.0)
    >>> now[0] = 61.0
    >>> limit.locked("alice", "10.0.0.1")
    0.0
    >>> limit.failed("alice", "10.0.0.1"); limit.locked("alice", "10.0.0.1")
    60.0
    """

    def __init__(self, max_failures: int, lockout_seconds: float, *, per_address: int = 4,
                 clock=time.monotonic, remember: int = 10_000):
        self.max_failures, self.lockout, self.per_address = max_failures, float(lockout_seconds), per_address
        self.clock, self.remember = clock, remember
        self._seen: OrderedDict[str, list[float]] = OrderedDict()  # key -> [failures, locked until]
        self._lock = threading.Lock()

    def locked(self, name: str, address: str | None = None) -> float:
        """Seconds until `name` (or `address`) may try again; 0 if it may now."""
        now = self.clock()
        with self._lock:
            waits = [entry[1] - now for key in self._keys(name, address) if (entry := self._seen.get(key))]
        return max([0.0, *waits])

    def failed(self, name: str, address: str | None = None) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                entry = self._seen.pop(key, [0, 0.0])
                entry[0] += 1
                limit = self.max_failures * (self.per_address if key.startswith("address:") else 1)
                if entry[0] >= limit:
                    entry[1] = now + self.lockout
                self._seen[key] = entry
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._seen.pop(f"name:{name}", None)

    @staticmethod
    def _keys(name: str, address: str | None) -> list[str]:
        return [f"name:{name}"] + ([f"address:{address}"] if address else [])


# --------------------------------------------------------------------------- the hub


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
