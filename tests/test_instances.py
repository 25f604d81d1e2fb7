"""One campus's names are its own: two campuses on one machine never share an account,
home, disk image, cgroup or network namespace, and `campus down --purge` removes what
one campus made and nothing of another's."""

from __future__ import annotations

import os
import pwd
import subprocess
from types import SimpleNamespace

import pytest

from campus.hub.accounts import SYSTEM_PATH, ensure_account, make_home
from campus.hub.disk import image_of
from campus.hub.limits import SessionGroup, SessionLimits
from campus.hub.network import NAMESPACES, make_namespace
from campus.hub.purge import purge
from campus.hub.spawner import SandboxSpawner
from campus.settings import SandboxSettings
from test_hub import command_line

ROOT = os.geteuid() == 0


def prefix_with(monkeypatch, **env: str) -> str:
    for name in ("CAMPUS_STATE_DIR", "CAMPUS_SANDBOX_INSTANCE", "CAMPUS_SANDBOX_ACCOUNT_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SandboxSettings().prefix


def test_each_state_folder_gives_its_own_account_names(monkeypatch, tmp_path):
    first = prefix_with(monkeypatch, CAMPUS_STATE_DIR=str(tmp_path / "one"))
    again = prefix_with(monkeypatch, CAMPUS_STATE_DIR=str(tmp_path / "one"))
    second = prefix_with(monkeypatch, CAMPUS_STATE_DIR=str(tmp_path / "two"))
    assert first == again != second
    assert first.startswith("campus-") and len(first + "a" * 18) <= 32  # room for an 18-letter user name
    assert prefix_with(monkeypatch, CAMPUS_STATE_DIR=str(tmp_path / "two"), CAMPUS_SANDBOX_INSTANCE="north") \
        == "campus-north-"
    assert prefix_with(monkeypatch, CAMPUS_SANDBOX_ACCOUNT_PREFIX="lab-") == "lab-"


def test_the_spawner_names_accounts_with_the_campus_instance(monkeypatch, tmp_path):
    prefix = prefix_with(monkeypatch, CAMPUS_STATE_DIR=str(tmp_path), CAMPUS_SANDBOX_INSTANCE="north")
    assert SandboxSpawner(user=SimpleNamespace(name="alice")).account_name == prefix + "alice" == "campus-north-alice"


def test_an_instance_name_that_cannot_be_part_of_an_account_is_refused(monkeypatch):
    monkeypatch.setenv("CAMPUS_SANDBOX_INSTANCE", "North Campus")
    with pytest.raises(ValueError, match="instance"):
        SandboxSettings()


def leave_a_session(prefix: str, homes, name: str = "alice") -> str:
    """What a sandboxed session of `prefix`'s campus leaves: account, home, image, cgroups, namespace."""
    account = prefix + name
    home = homes / account
    entry = ensure_account(account, home, f"campus researcher {name}")
    make_home(home, entry.pw_uid, entry.pw_gid)
    image_of(home).parent.mkdir(mode=0o700, exist_ok=True)
    image_of(home).write_bytes(b"\0" * 4096)
    SessionGroup(account).apply(SessionLimits(memory=2**30, cpus=1, processes=64, home=2**30))
    make_namespace(account)
    return account


def exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
        return True
    except KeyError:
        return False


@pytest.mark.skipif(not ROOT, reason="making Unix accounts, cgroups and namespaces needs root")
def test_down_purge_removes_this_campus_s_leftovers_and_nothing_of_another(tmp_path):
    mine, theirs = f"campus-tp{os.getpid() % 10**6}-", f"campus-tq{os.getpid() % 10**6}-"
    homes = tmp_path / "homes"
    homes.mkdir()
    stranger = mine + "svc"  # this campus's prefix, but not an account the spawner made
    subprocess.run(["useradd", "--system", "--no-create-home", "--comment", "a service", stranger], check=True,
                   env={"PATH": SYSTEM_PATH})
    try:
        account = leave_a_session(mine, homes)
        other = leave_a_session(theirs, homes)
        run = command_line({"CAMPUS_SANDBOX_INSTANCE": mine.split("-")[1], "CAMPUS_SANDBOX_HOMES_DIR": str(homes),
                            "CAMPUS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"})
        said = run("down", "--purge").output
        assert "The campus is not running." in said and f"Removed 1 researcher account(s)" in said
        assert not exists(account) and not (homes / account).exists() and not image_of(homes / account).exists()
        assert not any(folder.exists() for folder in SessionGroup(account).folders.values())
        assert not (NAMESPACES / account).exists()
        assert exists(other) and (homes / other).is_dir() and image_of(homes / other).exists()
        assert all(folder.exists() for folder in SessionGroup(other).folders.values())
        assert (NAMESPACES / other).exists()
        assert exists(stranger)
    finally:
        purge(theirs, homes)
        purge(mine, homes)
        subprocess.run(["userdel", stranger], capture_output=True, env={"PATH": SYSTEM_PATH})
    assert not exists(other)


def test_purge_refuses_an_empty_prefix(tmp_path):
    with pytest.raises(ValueError, match="every account"):
        purge("", tmp_path)
