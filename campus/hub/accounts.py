"""Each researcher's Unix account and private home, and the tools that drop to it.

A sandboxed server runs as ``<CAMPUS_SANDBOX_ACCOUNT_PREFIX><name>``, a system account
made here if missing (no password, no login shell, its own group, never root), in a home
only it can open; bwrap, setpriv, nsenter and ip come from the system's own PATH.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import threading
from pathlib import Path

from .errors import SandboxUnavailable

SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
MAX_ACCOUNT_NAME = 32  # useradd's limit

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
    """Where bwrap, setpriv, nsenter and ip are; refuse, saying what to install, if one is missing."""
    missing = {"bwrap": "bubblewrap", "setpriv": "util-linux", "nsenter": "util-linux", "ip": "iproute2"}
    found = {tool: shutil.which(tool, path=path) for tool in missing}
    lacking = [f"{tool} (apt-get install {missing[tool]})" for tool, where in found.items() if not where]
    if lacking:
        raise SandboxUnavailable("notebook servers run only inside the sandbox, and it needs "
                                 + " and ".join(lacking) + "; install it and start the server again")
    return found  # type: ignore[return-value]


def drop_to(account: pwd.struct_passwd, setpriv: str) -> list[str]:
    """setpriv: become the account, with its own group only, no capabilities, no new privileges."""
    return [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]

