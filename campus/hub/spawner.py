"""Sealed notebook servers: each researcher's server in bubblewrap, as their own Unix account,
in a network namespace of its own, within its own limits.

``CAMPUS_HUB_SPAWNER=sandbox`` (the hub runs as root). For campus user ``alice``,
`SandboxSpawner`:

1. makes the Unix account ``campus-alice`` if it is missing (a system account: no
   password, no login shell, its own group) and her private home
   ``<CAMPUS_SANDBOX_HOMES_DIR>/campus-alice`` (mode 700, hers), copying the notebook
   templates into a new home; mounts the home's disk over it (`campus.hub.disk`: the
   home's size limit);
2. sets her session's limits in cgroups of its own (`campus.hub.limits`: memory, CPU,
   processes), from the hub's defaults and ``hub/users.yaml``;
3. makes her network namespace (`campus.hub.network`): only its own loopback, with the
   hub relaying her server's port in and the hub's API and the data service out;
4. starts bubblewrap inside that namespace, in those cgroups: the system read-only, a
   private ``/tmp``, ``/dev/shm`` and ``/run``, its own ``/proc`` and ``/dev``, its own PID,
   IPC and UTS namespaces; the raw data, the campus and hub state, the hub account's home
   and every other home hidden under empty tmpfs; Python and the project read-only; her
   home read-write;
5. inside, drops to ``campus-alice`` with setpriv (no supplementary groups, no
   capabilities, no new privileges) and runs ``jupyterhub-singleuser`` with the
   locked-down server settings in ``hub/singleuser/``.

It fails closed: without bwrap, setpriv, nsenter or ip, with a hidden folder that other
Unix users could read anyway, a home that is not hers, limits that cannot be set or a
namespace that cannot be sealed, the spawn is refused and the researcher's page says why
(`SpawnRefused`, HTTP 503). Stopping the server removes the relays and the namespace,
stops whatever is left in its cgroups and unmounts the home's disk.
Settings: `campus.settings.SandboxSettings` (``CAMPUS_SANDBOX_*``), listed in ``hub/README.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import resource
import shlex
import sys
from pathlib import Path
from subprocess import Popen

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from tornado import web
from traitlets import Instance, List, Unicode, default

from .. import provisioning
from ..settings import PROJECT_ROOT, HubSettings, SandboxSettings, Settings
from .accounts import drop_to, ensure_account, find_tools, make_home
from .disk import mount_home, unmount_home
from .errors import SandboxUnavailable
from .limits import SessionGroup, SessionLimits, limits_of
from .mounts import hidden_from_settings, mount_args, open_to_others, runtime_folders
from .network import RelayLimits, SessionNetwork, outward
from .seccomp import program_fd

SERVER_SETTINGS = PROJECT_ROOT / "hub" / "singleuser"
PASSED_CAMPUS_VARIABLES = {"CAMPUS_SERVICE_URL"}  # every other CAMPUS_* stays with the hub
SEALED_URLS = ("JUPYTERHUB_API_URL", "JUPYTERHUB_ACTIVITY_URL", "CAMPUS_SERVICE_URL")  # relayed out of the namespace
LIMITS_VARIABLE = "CAMPUS_SESSION_LIMITS"  # the kernel reads its limits here (campus.hub.kernel)


class SpawnRefused(web.HTTPError):
    """The server was not started because it could not be sealed; the page says why (HTTP 503)."""

    def __init__(self, user: str, reason: str):
        super().__init__(503, "%s", reason, reason="Session not started")
        self.jupyterhub_message = (f"{user}'s session was not started, because it could not be sealed: {reason}. "
                                   "Nothing ran. A campus admin can fix this (the hub's log has the details); "
                                   "then start the server again.")


class SandboxSpawner(LocalProcessSpawner):
    """A researcher's notebook server in bubblewrap, as their own unprivileged Unix account.

    `start` calls one step per line: find the tools, check the hidden folders, make the
    account and home, then start ``bwrap ... setpriv ... jupyterhub-singleuser``. Stopping,
    polling and restoring after a hub restart are LocalProcessSpawner's (by pid); bwrap
    runs with ``--die-with-parent``, so a hub restart stops every server.
    ``shell_cmd`` and ``popen_kwargs`` are ignored: nothing may wrap the sandbox.
    """

    sandbox = Instance(SandboxSettings, help="The sandbox's settings [default: the CAMPUS_SANDBOX_* environment "
                                             "variables].").tag(config=True)
    hidden_paths = List(Unicode(), help="Folders hidden from every server [default: from the campus and hub "
                                        "settings: data, state, their SQLite databases, the hub account's home, "
                                        "the homes].").tag(config=True)
    readonly_paths = List(Unicode(), help="Folders every server reads, shown again if a hidden folder covers them "
                                          "[default: the Python install, the virtualenv, the project].").tag(
        config=True)
    server_settings_dir = Unicode(str(SERVER_SETTINGS), help="The locked-down server settings (JUPYTER_CONFIG_DIR: "
                                                             "jupyter_server_config.py, labconfig/).").tag(config=True)

    @default("sandbox")
    def _default_sandbox(self):
        return SandboxSettings()

    @default("hidden_paths")
    def _default_hidden_paths(self):
        return [str(p) for p in hidden_from_settings(Settings(), HubSettings(), self.sandbox.homes_dir)]

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
        return self.sandbox.prefix + self.user.name

    @property
    def home(self) -> Path:
        return self.sandbox.homes_dir.resolve() / self.account_name

    # ---- the steps

    def check_hidden_folders(self) -> list[Path]:
        """The hidden folders, made if missing (mode 700); refused if other users could read one anyway."""
        homes = self.sandbox.homes_dir.resolve()
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
        templates = self.sandbox.templates_dir
        if make_home(self.home, account.pw_uid, account.pw_gid, templates):
            self.log.info("Made %s's home %s (templates from %s)", self.user.name, self.home, templates)
        return account

    def session_limits(self) -> SessionLimits:
        """Her session's limits: the hub's defaults, as her groups and projects in users.yaml set them."""
        users = provisioning.load(HubSettings().users_path)
        return limits_of(self.user.name, users, SessionLimits.defaults(self.sandbox))

    def seal(self, env: dict[str, str]) -> list:
        """Point the server's URLs of the hub's API and the data service at the namespace's own
        loopback; returns the relays that carry them out."""
        relays = {}
        for name in SEALED_URLS:
            if env.get(name):
                env[name], relay = outward(env[name])
                if relays.setdefault(relay.port, relay) != relay:
                    raise SandboxUnavailable(f"{name} and another URL use port {relay.port} on different hosts: "
                                             "a sealed session relays each port to one place")
        return list(relays.values())

    def sandbox_command(self, tools: dict[str, str], hidden: list[Path], account: pwd.struct_passwd,
                        server: list[str], seccomp: int) -> list[str]:
        """``nsenter <her network> bwrap <namespaces> <mounts> --seccomp <fd> -- setpriv <drop> -- <server>``."""
        readonly = [Path(p).resolve() for p in self.readonly_paths]
        namespaces = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                      "--hostname", "campus", "--die-with-parent", "--new-session"]
        mounts = mount_args(hidden, readonly, self.home, int(self.sandbox.tmp_size),
                            own_groups=list(self.group.folders.values()))
        return [tools["nsenter"], f"--net={self.network.path}", "--",
                tools["bwrap"], *namespaces, *mounts, "--seccomp", str(seccomp),
                "--chdir", str(self.home), "--", *drop_to(account, tools["setpriv"]), *server]

    def make_preexec_fn(self, name):
        """Join the session's cgroups and set the per-process limits, before bwrap starts;
        everything in the sandbox inherits both."""
        group, limits = self.group, self.limits
        rlimits = [(resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_CORE, 0),
                   (resource.RLIMIT_DATA, limits.memory)]

        def preexec():
            group.join()
            for which, value in rlimits:
                resource.setrlimit(which, (value, value))

        return preexec

    def user_env(self, env):
        """Her account and home; the locked-down settings; Jupyter and Python kept out of her home's config;
        the campus package the hub itself runs."""
        home = str(self.home)
        env.update({
            "USER": self.account_name,
            "LOGNAME": self.account_name,
            "HOME": home,
            "SHELL": "/bin/sh",
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_DIR": self.server_settings_dir,
            "JUPYTER_PATH": self.server_settings_dir,  # its kernels/python3: the kernel that tells of the limits
            "JUPYTERLAB_SETTINGS_DIR": f"{home}/.jupyter/lab/user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": f"{home}/.jupyter/lab/workspaces",
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": str(PROJECT_ROOT),  # the server and kernels import the hub's own campus package
        })
        return env

    def get_env(self):
        """JupyterHub's variables and CAMPUS_SERVICE_URL; no other CAMPUS_* (the hub's secrets stay with it)."""
        env = super().get_env()
        return {k: v for k, v in env.items() if not k.startswith("CAMPUS_") or k in PASSED_CAMPUS_VARIABLES}

    network: SessionNetwork | None = None

    async def start(self):
        """Start the server sealed, or refuse saying why (never unsealed)."""
        try:
            return await self._start_sealed()
        except SandboxUnavailable as e:
            await self.release()
            raise SpawnRefused(self.user.name, e.reason) from None
        except BaseException:
            await self.release()
            raise

    async def _start_sealed(self):
        tools = find_tools()
        hidden = await asyncio.to_thread(self.check_hidden_folders)
        account = await asyncio.to_thread(self.prepare_account)
        await self.release()  # what an earlier server of hers left behind
        self.limits = self.session_limits()
        self.group = SessionGroup(self.account_name)
        await asyncio.to_thread(self.group.apply, self.limits)
        await asyncio.to_thread(mount_home, self.home, self.limits.home, account.pw_uid, account.pw_gid)
        if self.port == 0:
            self.port = random_port()
        env = self.get_env()
        relays = self.seal(env)
        env[LIMITS_VARIABLE] = json.dumps(self.limits.described() | {"memory_group": str(self.group.memory_folder)})
        self.network = await SessionNetwork.open(self.account_name, self.port, relays, RelayLimits(
            self.sandbox.relay_connections, self.sandbox.relay_idle_seconds), self.log)
        seccomp = program_fd()
        try:
            cmd = self.sandbox_command(tools, hidden, account, [*self.cmd, *self.get_args()], seccomp)
            self.log.info("Spawning %s's sealed server as %s (%s): %s", self.user.name, self.account_name,
                          self.limits, " ".join(shlex.quote(s) for s in cmd))
            # Popen on the hub's main thread: --die-with-parent follows the thread that started bwrap.
            self.proc = Popen(cmd, env=env, preexec_fn=self.make_preexec_fn(self.user.name), start_new_session=True,
                              pass_fds=(seccomp,))
        finally:
            os.close(seccomp)
        self.pid = self.proc.pid
        return (self.ip or "127.0.0.1", self.port)

    async def stop(self, now=False):
        await super().stop(now=now)
        await self.release()

    async def release(self) -> None:
        """Remove the relays and the namespace, stop what is left in the cgroups, unmount the home's disk."""
        if self.network is not None:
            await self.network.close()
            self.network = None
        await asyncio.to_thread(SessionGroup(self.account_name).remove)
        await asyncio.to_thread(unmount_home, self.home)

    async def move_certs(self, paths):
        raise SandboxUnavailable("internal SSL is not supported by the sandboxed spawner")
