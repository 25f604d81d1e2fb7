"""What one campus's sandboxes leave on the machine, found and removed (`campus down --purge`).

A campus's researchers' Unix accounts are ``<prefix><name>`` (`SandboxSettings.prefix`,
which carries the campus's instance name) with the comment the spawner gives them; each
has a home, a disk image, cgroups and, while a server runs, a network namespace named
after it. `purge` removes exactly these for one campus: accounts of another prefix, or
accounts of this prefix that the spawner did not make, are never touched.
"""

from __future__ import annotations

import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .accounts import SYSTEM_PATH
from .disk import image_of, unmount_home
from .limits import SessionGroup
from .network import NAMESPACES, remove_namespace

COMMENT = "campus researcher "  # the start of the comment the spawner gives an account


@dataclass(frozen=True)
class Leftover:
    """One researcher's account of this campus, and where its things are."""

    account: str
    home: Path

    @property
    def image(self) -> Path:
        return image_of(self.home)


def leftovers(prefix: str, homes: Path) -> list[Leftover]:
    """This campus's researchers' accounts (the spawner's, with `prefix`), homes under `homes`."""
    return [Leftover(entry.pw_name, Path(homes).resolve() / entry.pw_name) for entry in pwd.getpwall()
            if entry.pw_name.startswith(prefix) and entry.pw_gecos.startswith(COMMENT) and entry.pw_uid != 0]


def purge(prefix: str, homes: Path) -> list[str]:
    """Stop and remove every leftover of the campus: processes, cgroups, namespace, home, image, account.
    Returns the accounts removed."""
    if not prefix:
        raise ValueError("an empty account prefix would name every account: refusing")
    removed = []
    for left in leftovers(prefix, homes):
        SessionGroup(left.account).remove()
        if (NAMESPACES / left.account).exists():
            remove_namespace(left.account)
        unmount_home(left.home)
        shutil.rmtree(left.home, ignore_errors=True)
        left.image.unlink(missing_ok=True)
        subprocess.run(["userdel", left.account], capture_output=True, env={"PATH": SYSTEM_PATH})
        removed.append(left.account)
    return removed
