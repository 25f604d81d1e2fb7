"""Sandboxed notebook servers: each researcher's server in bubblewrap, as their own Unix account.

``CAMPUS_HUB_SPAWNER=sandbox`` (the hub runs as root). For campus user ``alice``,
`SandboxSpawner`:

1. makes the Unix account ``campus-alice`` if it is missing (a system account: no
   password, no login shell, its own group) and her private home
   ``<CAMPUS_SANDBOX_HOMES_DIR>/campus-alice`` (mode 700, hers), copying the notebook
   templates into a new home;
2. starts bubblewrap as root: the system read-only, a private ``/tmp``, its own ``/proc``
   and ``/dev``, its own PID, IPC and UTS namespaces; the raw data, the campus and hub
   state, the hub account's home and every other home hidden under empty tmpfs; Python
   and the project read-only; her home read-write;
3. inside, drops to ``campus-alice`` with setpriv (no supplementary groups, no
   capabilities, no new privileges) and runs ``jupyterhub-singleuser`` with the
   locked-down server settings in ``hub/singleuser/``.

It fails closed: without bwrap or setpriv, with a hidden folder that other Unix users could
read anyway, or with a home that is not hers, the spawn fails and says what to do. There
is no network namespace (the server must reach the hub, the proxy and the data service on
loopback). Settings: `SandboxSettings` (``CAMPUS_SANDBOX_*``), listed in ``hub/README.md``.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import resource
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from subprocess import Popen

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from traitlets import Integer, List, Unicode, default

from ..errors import CampusError
from ..settings import PROJECT_ROOT, Settings
from .users import HubSettings

SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
SERVER_SETTINGS = PROJECT_ROOT / "hub" / "singleuser"
PASSED_CAMPUS_VARIABLES = {"CAMPUS_SERVICE_URL"}  # every other CAMPUS_* stays with the hub
MAX_ACCOUNT_NAME = 32  # useradd's limit


class SandboxUnavailable(CampusError):
    """The sandbox cannot be set up safely, so the server does not start."""

    code = "sandbox_unavailable"


class SandboxSettings(BaseSettings):
    """The sandboxed notebook servers, from ``CAMPUS_SANDBOX_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_SANDBOX_")

    homes_dir: Path = Field(Path("/home"), description="Where the researchers' private homes are: "
                                                        "<homes_dir>/<account>. Hidden from every server but "
                                                        "the owner's.")
    account_prefix: str = Field("campus-", description="Unix account of campus user NAME: <prefix>NAME "
                                                       "(made with useradd --system if missing).")
    templates_dir: Path = Field(PROJECT_ROOT / "notebooks" / "templates",
                                description="Notebook templates copied into a new home's templates/ folder.")
    max_processes: int = Field(512, ge=16, description="Processes and threads one researcher may run at once "
                                                      "(RLIMIT_NPROC, counted per Unix account).")
    memory: str | None = Field(None, description="Memory each process of a server may use (RLIMIT_DATA, "
                                                 "e.g. 8G) [default: no limit].")


# --------------------------------------------------------------------------- the mounts


def covered(path: Path, by: Path) -> bool:
    """Whether `path` is `by` or inside it.

    >>> covered(Path("/root/.pyenv"), Path("/root")), covered(Path("/rootx"), Path("/root"))
    (True, False)
    """
    return path == by or by in path.parents


class MountPlan:
    """bubblewrap's mount arguments, built in order: a later mount covers the earlier ones.

    Starts with the system read-only, its own /proc and /dev and private /tmp and /dev/shm.
    """

    def __init__(self) -> None:
        self.args = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm"]
        self.mounts: list[tuple[Path, bool]] = [(Path("/"), False)]  # (where, is an empty tmpfs)
        self.made: set[Path] = set()
        self.hide(Path("/tmp"))

    def _innermost(self, path: Path, *, strictly: bool) -> tuple[Path, bool]:
        """The mount `path` lies in (the deepest, then the latest)."""
        found = [(len(where.parts), i, where, empty) for i, (where, empty) in enumerate(self.mounts)
                 if covered(path, where) and not (strictly and where == path)]
        return max(found)[2:]

    def hidden(self, path: Path) -> bool:
        return self._innermost(path, strictly=False)[1]

    def hide(self, path: Path) -> None:
        """An empty tmpfs over `path`."""
        self.args += ["--tmpfs", str(path)]
        self.mounts.append((path, True))

    def show(self, path: Path, *, writable: bool = False) -> None:
        """`path` bound at the same place; inside a tmpfs, the folders above it are made first
        (mode 755: bwrap would make them 700, and the researcher could not reach `path`)."""
        top, empty = self._innermost(path, strictly=True)
        if empty:
            for folder in reversed(path.parents):
                if covered(folder, top) and folder != top and folder not in self.made:
                    self.args += ["--perms", "0755", "--dir", str(folder)]
                    self.made.add(folder)
        self.args += ["--bind" if writable else "--ro-bind", str(path), str(path)]
        self.mounts.append((path, False))


def mount_args(hidden: list[Path], readonly: list[Path], home: Path) -> list[str]:
    """bubblewrap's mounts, in the order that keeps hidden things hidden.

    1. the system read-only, its own /proc and /dev, a private /tmp (so /tmp counts as hidden);
    2. an empty tmpfs over each hidden folder;
    3. read-only again: each runtime folder (Python, the project) that a hidden folder covered,
       then hidden again: the hidden folders inside it;
    4. the researcher's home, read-write (then hidden again: hidden folders inside it).

    >>> print(" ".join(mount_args(
    ...     hidden=[Path("/root"), Path("/srv/data"), Path("/tmp/x"), Path("/root/project/.campus"), Path("/home")],
    ...     readonly=[Path("/root/.pyenv/versions/3.11.7"), Path("/root/project"), Path("/usr")],
    ...     home=Path("/home/campus-alice"))))  # doctest: +NORMALIZE_WHITESPACE
    --ro-bind / / --proc /proc --dev /dev --tmpfs /dev/shm --tmpfs /tmp
    --tmpfs /root --tmpfs /srv/data --tmpfs /home
    --perms 0755 --dir /root/.pyenv --perms 0755 --dir /root/.pyenv/versions
    --ro-bind /root/.pyenv/versions/3.11.7 /root/.pyenv/versions/3.11.7
    --ro-bind /root/project /root/project --tmpfs /root/project/.campus
    --bind /home/campus-alice /home/campus-alice
    """
    plan = MountPlan()
    for path in hidden:
        if not plan.hidden(path):
            plan.hide(path)

    def show_and_hide_inside(path: Path, writable: bool) -> None:
        plan.show(path, writable=writable)
        for inside in hidden:
            if covered(inside, path):
                plan.hide(inside)

    for path in readonly:
        if plan.hidden(path):
            show_and_hide_inside(path, writable=False)
    show_and_hide_inside(home, writable=True)
    return plan.args


def open_to_others(path: Path) -> bool:
    """Whether any Unix user could reach `path` through its permissions alone.

    True when every folder above it lets others through (o+x) and it lets them read or
    enter it (o+r or o+x).

    >>> open_to_others(Path("/usr"))
    True
    """
    for parent in path.parents:
        if not parent.stat().st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o005)


# --------------------------------------------------------------------------- accounts and homes

_accounts = threading.Lock()  # useradd locks /etc/passwd and fails, rather than waits, if it is busy


def ensure_account(name: str, home: Path, comment: str) -> pwd.struct_passwd:
    """The Unix account `name`, made if missing: a system account without login. Never root."""
    if len(name) > MAX_ACCOUNT_NAME:
        raise SandboxUnavailable(f"the Unix account name {name} is longer than {MAX_ACCOUNT_NAME} characters: "
                                 "choose a shorter CAMPUS_SANDBOX_ACCOUNT_PREFIX or campus user name")
    with _accounts:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            done = subprocess.run(["useradd", "--system", "--user-group", "--shell", "/usr/sbin/nologin",
                                   "--home-dir", str(home), "--no-create-home", "--comment", comment, name],
                                  capture_output=True, text=True, env={"PATH": SYSTEM_PATH})
            if done.returncode != 0:
                raise SandboxUnavailable(f"could not create the Unix account {name}: {done.stderr.strip()} "
                                         "(the hub must run as root to start sandboxed servers)")
            account = pwd.getpwnam(name)
    if account.pw_uid == 0 or account.pw_gid == 0:
        raise SandboxUnavailable(f"the Unix account {name} is root or in root's group: a sandboxed server never "
                                 "runs as root; give the campus user an unprivileged account")
    return account


def make_home(home: Path, uid: int, gid: int, templates: Path | None = None) -> bool:
    """The private home (mode 700, owned by uid:gid); a new one gets a copy of `templates`.

    Returns whether the home is new. An existing home keeps its files (the researcher's
    edits of the templates included) and is refused if someone else owns it.
    """
    if home.exists():
        owner = home.lstat()
        if home.is_symlink() or not home.is_dir() or owner.st_uid != uid:
            raise SandboxUnavailable(f"{home} is not a folder owned by uid {uid} (it belongs to uid {owner.st_uid}): "
                                     "move it away, or chown -R it to the researcher's account")
        home.chmod(0o700)
        return False
    home.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    home.mkdir(mode=0o700)
    if templates is not None and templates.is_dir() and any(templates.iterdir()):
        shutil.copytree(templates, home / "templates", symlinks=False)
    for path in [home, *home.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)
    home.chmod(0o700)
    return True


def find_tools(path: str = SYSTEM_PATH) -> dict[str, str]:
    """Where bwrap and setpriv are; refuse, saying what to install, if one is missing."""
    found = {tool: shutil.which(tool, path=path) for tool in ("bwrap", "setpriv")}
    missing = {"bwrap": "bubblewrap", "setpriv": "util-linux"}
    lacking = [f"{tool} (apt-get install {missing[tool]})" for tool, where in found.items() if not where]
    if lacking:
        raise SandboxUnavailable("notebook servers run only inside the sandbox, and it needs "
                                 + " and ".join(lacking) + "; install it and start the server again")
    return found  # type: ignore[return-value]


def drop_to(account: pwd.struct_passwd, setpriv: str) -> list[str]:
    """setpriv: become the account, with its own group only, no capabilities, no new privileges."""
    return [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


# --------------------------------------------------------------------------- what to hide


def sqlite_folder(url: str | None) -> Path | None:
    """The folder of a SQLite database URL (other databases have no folder to hide).

    >>> sqlite_folder("sqlite:////srv/campus/campus.db"), sqlite_folder("postgresql://db/campus")
    (PosixPath('/srv/campus'), None)
    """
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().parent


def hidden_from_settings(campus: Settings, hub: HubSettings, homes: Path) -> list[Path]:
    """What no server may see: the raw data, the campus and hub state (and their SQLite
    databases, wherever they are), the hub account's home, and the homes."""
    found = [campus.data, campus.state_dir, sqlite_folder(campus.database), hub.state,
             sqlite_folder(hub.db_url), Path.home(), homes]
    return list(dict.fromkeys(Path(p).resolve() for p in found if p is not None))


def runtime_folders() -> list[Path]:
    """What every server needs read-only: the Python install, the virtualenv, the project."""
    found = [sys.base_prefix, sys.prefix, PROJECT_ROOT]
    return list(dict.fromkeys(Path(p).resolve() for p in found))


# --------------------------------------------------------------------------- the spawner


class SandboxSpawner(LocalProcessSpawner):
    """A researcher's notebook server in bubblewrap, as their own unprivileged Unix account.

    `start` calls one step per line: find the tools, check the hidden folders, make the
    account and home, then start ``bwrap ... setpriv ... jupyterhub-singleuser``. Stopping,
    polling and restoring after a hub restart are LocalProcessSpawner's (by pid); bwrap
    runs with ``--die-with-parent``, so a hub restart stops every server.
    ``shell_cmd`` and ``popen_kwargs`` are ignored: nothing may wrap the sandbox.
    """

    homes_dir = Unicode(help="Where the private homes are (CAMPUS_SANDBOX_HOMES_DIR).").tag(config=True)
    account_prefix = Unicode(help="Unix account of NAME: <prefix>NAME (CAMPUS_SANDBOX_ACCOUNT_PREFIX).").tag(
        config=True)
    templates_dir = Unicode(help="Copied into a new home's templates/ (CAMPUS_SANDBOX_TEMPLATES_DIR).").tag(
        config=True)
    max_processes = Integer(help="RLIMIT_NPROC of each account (CAMPUS_SANDBOX_MAX_PROCESSES).").tag(config=True)
    hidden_paths = List(Unicode(), help="Folders hidden from every server [default: from the campus and hub "
                                        "settings: data, state, their SQLite databases, the hub account's home, "
                                        "the homes].").tag(config=True)
    readonly_paths = List(Unicode(), help="Folders every server reads, shown again if a hidden folder covers them "
                                          "[default: the Python install, the virtualenv, the project].").tag(
        config=True)
    server_settings_dir = Unicode(str(SERVER_SETTINGS), help="The locked-down server settings (JUPYTER_CONFIG_DIR: "
                                                             "jupyter_server_config.py, labconfig/).").tag(config=True)

    @default("homes_dir")
    def _default_homes_dir(self):
        return str(SandboxSettings().homes_dir)

    @default("account_prefix")
    def _default_account_prefix(self):
        return SandboxSettings().account_prefix

    @default("templates_dir")
    def _default_templates_dir(self):
        return str(SandboxSettings().templates_dir)

    @default("max_processes")
    def _default_max_processes(self):
        return SandboxSettings().max_processes

    @default("mem_limit")
    def _default_mem_limit(self):
        return SandboxSettings().memory

    @default("hidden_paths")
    def _default_hidden_paths(self):
        return [str(p) for p in hidden_from_settings(Settings(), HubSettings(), Path(self.homes_dir))]

    @default("readonly_paths")
    def _default_readonly_paths(self):
        return [str(p) for p in runtime_folders()]

    @default("env_keep")
    def _default_env_keep(self):
        return ["LANG", "LC_ALL"]

    @default("disable_user_config")
    def _default_disable_user_config(self):
        return True  # no jupyter config from the home: the lockdown is not the researcher's to undo

    # ---- names and places

    @property
    def account_name(self) -> str:
        return self.account_prefix + self.user.name

    @property
    def home(self) -> Path:
        return Path(self.homes_dir).resolve() / self.account_name

    # ---- the steps

    def check_hidden_folders(self) -> list[Path]:
        """The hidden folders, made if missing (mode 700); refused if other users could read one anyway."""
        homes = Path(self.homes_dir).resolve()
        hidden = [Path(p).resolve() for p in self.hidden_paths]
        for path in hidden:
            if path == Path("/"):
                raise SandboxUnavailable("'/' is among the hidden folders: check CAMPUS_STATE_DIR, CAMPUS_DATA_DIR, "
                                         "CAMPUS_HUB_STATE_DIR and the database URLs")
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if path != homes and open_to_others(path):
                raise SandboxUnavailable(f"{path} is open to every Unix user (mode {path.stat().st_mode & 0o777:o}): "
                                         "the sandbox hides it, but its permissions must keep researchers out too; "
                                         f"run: chmod o-rwx {shlex.quote(str(path))}")
        return hidden

    def prepare_account(self) -> pwd.struct_passwd:
        """The researcher's Unix account and private home."""
        account = ensure_account(self.account_name, self.home, f"campus researcher {self.user.name}")
        if make_home(self.home, account.pw_uid, account.pw_gid, Path(self.templates_dir)):
            self.log.info("Made %s's home %s (templates from %s)", self.user.name, self.home, self.templates_dir)
        return account

    def sandbox_command(self, tools: dict[str, str], hidden: list[Path], account: pwd.struct_passwd,
                        server: list[str]) -> list[str]:
        """``bwrap <namespaces> <mounts> -- setpriv <drop> -- <server>``."""
        readonly = [Path(p).resolve() for p in self.readonly_paths]
        namespaces = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                      "--hostname", "campus", "--die-with-parent", "--new-session"]
        return [tools["bwrap"], *namespaces, *mount_args(hidden, readonly, self.home),
                "--chdir", str(self.home), "--", *drop_to(account, tools["setpriv"]), *server]

    def make_preexec_fn(self, name):
        """Resource limits, set before bwrap starts and inherited by everything in the sandbox."""
        limits = [(resource.RLIMIT_NPROC, self.max_processes), (resource.RLIMIT_CORE, 0)]
        if self.mem_limit:
            limits.append((resource.RLIMIT_DATA, int(self.mem_limit)))

        def preexec():
            for which, value in limits:
                resource.setrlimit(which, (value, value))

        return preexec

    def user_env(self, env):
        """Her account and home; the locked-down settings; Jupyter and Python kept out of her home's config."""
        home = str(self.home)
        env.update({
            "USER": self.account_name,
            "LOGNAME": self.account_name,
            "HOME": home,
            "SHELL": "/bin/sh",
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_DIR": self.server_settings_dir,
            "JUPYTERLAB_SETTINGS_DIR": f"{home}/.jupyter/lab/user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": f"{home}/.jupyter/lab/workspaces",
            "PYTHONNOUSERSITE": "1",
        })
        return env

    def get_env(self):
        """JupyterHub's variables and CAMPUS_SERVICE_URL; no other CAMPUS_* (the hub's secrets stay with it)."""
        env = super().get_env()
        return {k: v for k, v in env.items() if not k.startswith("CAMPUS_") or k in PASSED_CAMPUS_VARIABLES}

    async def start(self):
        """Start the server in its sandbox, or fail saying why (never without the sandbox)."""
        tools = find_tools()
        hidden = await asyncio.to_thread(self.check_hidden_folders)
        account = await asyncio.to_thread(self.prepare_account)
        if self.port == 0:
            self.port = random_port()
        env = self.get_env()
        cmd = self.sandbox_command(tools, hidden, account, [*self.cmd, *self.get_args()])
        self.log.info("Spawning %s's sandboxed server as %s: %s", self.user.name, self.account_name,
                      " ".join(shlex.quote(s) for s in cmd))
        # Popen on the hub's main thread: --die-with-parent follows the thread that started bwrap.
        self.proc = Popen(cmd, env=env, preexec_fn=self.make_preexec_fn(self.user.name), start_new_session=True)
        self.pid = self.proc.pid
        return (self.ip or "127.0.0.1", self.port)

    async def move_certs(self, paths):
        raise SandboxUnavailable("internal SSL is not supported by the sandboxed spawner")
