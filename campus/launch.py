"""`campus up` and `campus down`: the whole campus on one machine, started and stopped by pid.

`up` (once the CLI has built the demo data, if it was missing) prepares the data service
(its database migrated, its noise secret), gives the demo accounts (``hub/users.yaml``)
passwords if they have none, and starts JupyterHub in the background with
``hub/jupyterhub_config.py``. The hub starts the rest itself: the proxy, the data
service and the idle culler, and each researcher's sandboxed notebook server. `up`
returns once the hub and the data service answer, and says where to sign in.

`down` stops the hub (which stops what it started) and then any process it left behind:
every descendant of the hub, found by pid before it was asked to stop, is gone when
`down` returns.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .errors import CampusError
from .hub.passwords import Passwords
from .provisioning import load as load_users
from .settings import PROJECT_ROOT, HubSettings, SandboxSettings, Settings

CONFIG = PROJECT_ROOT / "hub" / "jupyterhub_config.py"
START_SECONDS = 120
STOP_SECONDS = 60  # the hub waits for its managed services; the data service may take ~30 s


class LaunchError(CampusError):
    """The campus could not be started or stopped; the reason says what to do."""

    code = "launch_failed"


@dataclass(frozen=True)
class Running:
    """What `up` started: the hub's pid, where people reach it, where it logs."""

    pid: int
    url: str
    log: str

    @classmethod
    def read(cls, path: Path) -> "Running | None":
        try:
            return cls(**json.loads(path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None


def record_of(hub: HubSettings) -> Path:
    return hub.state / "campus-up.json"


def running() -> Running | None:
    """The campus `up` started, if it still runs."""
    found = Running.read(record_of(HubSettings()))
    return found if found and is_hub(found.pid) else None


def up(*, spawner: str | None = None, say: Callable[[str], None] = print) -> Running:
    """Start the campus (its demo data must be built); return what runs."""
    from .service.server import prepare  # imported here: `campus down` need not load the service

    hub, campus = HubSettings(), Settings()
    spawner = spawner or hub.spawner
    if spawner == "sandbox":
        check_root()
        check_private(private_folders(campus, hub))
    prepare(campus)  # what the data service needs before it starts: its database migrated, the noise secret
    for name, password in give_demo_passwords(hub).items():
        say(f"  demo account {name}: password {password}")
    return start_hub(hub, campus, spawner, say)


def check_root() -> None:
    """The bubblewrap sandbox needs root (it makes each researcher's Unix account)."""
    if os.geteuid() != 0:
        raise LaunchError(
            "the sandboxed notebooks need the campus started as root (each researcher gets an unprivileged "
            "Unix account); run `sudo campus up`, or for a one-person trial without a sandbox set "
            "CAMPUS_HUB_SPAWNER=simple")


def private_folders(campus: Settings, hub: HubSettings) -> list[Path]:
    """The raw data and the campus and hub state, each made if missing with mode 700 (only the
    campus's own account may open them: the sandbox refuses to start servers otherwise)."""
    folders = [Path(campus.data), Path(campus.state_dir), Path(hub.state)]
    for folder in sorted(folders, key=lambda f: len(f.parts)):  # the state before the data inside it
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folders


def check_private(folders: list[Path]) -> None:
    """Refuse to start if researchers' Unix accounts could open one of `folders`."""
    from .hub.mounts import open_to_others

    opened = [f for f in folders if open_to_others(f)]
    if opened:
        raise LaunchError(
            "researchers' sessions cannot start while " + ", ".join(str(f) for f in opened) + " can be opened by "
            "every Unix user; close them with: chmod o-rwx " + " ".join(shlex.quote(str(f)) for f in opened))


def give_demo_passwords(hub: HubSettings) -> dict[str, str]:
    """A new password for each account in users.yaml that has none (shown once; campus users
    password NAME sets another)."""
    if hub.auth != "native":
        return {}
    passwords = Passwords(hub.password_file)
    have = passwords.names()
    return {name: passwords.generate(name) for name in load_users(hub.users_path).users if name not in have}


def start_hub(hub: HubSettings, campus: Settings, spawner: str, say: Callable[[str], None]) -> Running:
    hub.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    log = hub.state / "hub.log"
    env = os.environ | {"CAMPUS_HUB_SPAWNER": spawner, "CAMPUS_STATE_DIR": str(campus.state_dir),
                        "CAMPUS_ROOT": str(campus.root)}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(CONFIG)], cwd=hub.state, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    running = Running(process.pid, hub.bind_url.rstrip("/") + "/", str(log))
    record_of(hub).write_text(json.dumps(running.__dict__))
    say(f"Starting JupyterHub (pid {process.pid}; log {log}) ...")
    try:
        wait_until(lambda: answers(running.url + "hub/api"), process, log, "the hub")
        wait_until(lambda: answers(hub.data_url.rstrip("/") + "/services/data/api/health"), process, log,
                   "the data service")
    except LaunchError:
        stop(running)
        record_of(hub).unlink(missing_ok=True)
        raise
    say(f"The campus is up: open {running.url} and sign in with a campus account (hub/users.yaml).")
    say("Stop it with `campus down`.")
    return running


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if process.poll() is not None:
            raise LaunchError(f"{what} stopped while starting (exit {process.returncode}); its log says:\n"
                              + log.read_text(errors="replace")[-2000:])
        if time.monotonic() > deadline:
            raise LaunchError(f"{what} did not answer within {START_SECONDS} s; see {log}")
        time.sleep(0.25)


def down(say: Callable[[str], None] = print) -> list[int]:
    """Stop the campus `up` started; returns the pids that were stopped."""
    hub = HubSettings()
    running = Running.read(record_of(hub))
    if running is None or not is_hub(running.pid):
        record_of(hub).unlink(missing_ok=True)
        say("The campus is not running.")
        return []
    stopped = stop(running)
    record_of(hub).unlink(missing_ok=True)
    say(f"The campus is stopped ({len(stopped)} processes).")
    return stopped


def purge(say: Callable[[str], None] = print) -> list[str]:
    """Remove this campus's researchers' accounts, homes, images, cgroups and namespaces (after `down`)."""
    from .hub.purge import purge as remove_leftovers

    sandbox = SandboxSettings()
    removed = remove_leftovers(sandbox.prefix, sandbox.homes_dir)
    say(f"Removed {len(removed)} researcher account(s) of campus {sandbox.instance_name} with their homes, disk "
        f"images, cgroups and namespaces{': ' + ', '.join(removed) if removed else ''}.")
    say(f"The campus's records (audit trail, data, passwords) stay in {Settings().state_dir}; remove that folder "
        "to start afresh.")
    return removed


def stop(running: Running) -> list[int]:
    """SIGTERM the hub and wait; then end whatever of its process tree outlived it."""
    tree = [running.pid, *descendants(running.pid)]
    signal_all([running.pid], signal.SIGTERM)
    wait_gone([running.pid], STOP_SECONDS)
    left = [pid for pid in tree if alive(pid)]
    signal_all(left, signal.SIGTERM)
    wait_gone(left, 10)
    signal_all([pid for pid in left if alive(pid)], signal.SIGKILL)
    wait_gone(left, 5)
    return tree


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_hub(pid: int) -> bool:
    """Whether `pid` is a running JupyterHub (not a process that reused its pid)."""
    try:
        return b"jupyterhub" in Path(f"/proc/{pid}/cmdline").read_bytes() and alive(pid)
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        for pid in pids:  # reap our own children (the hub, when `up` and `down` share a process)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.2)
