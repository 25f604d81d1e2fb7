"""Sandboxed notebook servers (``CAMPUS_HUB_SPAWNER=sandbox``), for real.

A hub running as root starts alice's and bob's servers in bubblewrap, each as its own
Unix account (``cst<pid>-alice``, removed afterwards). Code runs in alice's kernel through
the server's REST API and kernel websocket, and checks what she can and cannot reach:

=========================================  ==========================================
from alice's kernel                        expected
=========================================  ==========================================
her uid, groups, capabilities              her own account; no other groups, no caps
the raw data, campus state, hub state      empty (a tmpfs covers them)
bob's home, the other homes                empty, or only hers
the same, outside the sandbox as her uid   permission denied (the folders' own modes)
``/files/``, terminals, nbconvert          refused (404/403), for an admin's token too
JupyterLab's download and export plugins   disabled and locked
the data service with her server's token   answers as alice; ``campus.sql`` works
her environment                            no CAMPUS_* but CAMPUS_SERVICE_URL
=========================================  ==========================================

The fast tests at the end check the refusals that keep it closed: missing tools, a hidden
folder open to everyone, a home that belongs to someone else.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import websocket

from campus.hub.accounts import find_tools, make_home
from campus.hub.errors import SandboxUnavailable
from campus.hub.spawner import SandboxSpawner
from campus.settings import PROJECT_ROOT, SandboxSettings
from test_hub import running_hub

pytestmark = pytest.mark.slow

PREFIX = f"cst{os.getpid()}-"  # the test's own Unix accounts
FOLDERS = "/var/tmp/campus-sandbox-"
PEOPLE = ("alice", "bob")
PLUGINS = ["@jupyterlab/docmanager-extension:download", "@jupyterlab/filebrowser-extension:download",
           "@jupyterlab/notebook-extension:export"]
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def need_sandbox() -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandboxed spawner needs root (it makes Unix accounts and runs bubblewrap)")
    try:
        find_tools()
    except SandboxUnavailable as e:
        pytest.skip(e.reason)


def account(name: str) -> pwd.struct_passwd:
    return pwd.getpwnam(PREFIX + name)


def remove_leftovers() -> None:
    """Accounts and folders of an earlier run that was killed before its teardown."""
    for entry in pwd.getpwall():
        made_by = re.fullmatch(r"cst(\d+)-[a-z]+", entry.pw_name)
        if made_by and entry.pw_dir.startswith(FOLDERS) and not Path(f"/proc/{made_by[1]}").exists():
            subprocess.run(["userdel", "--force", entry.pw_name], capture_output=True)
            shutil.rmtree(entry.pw_dir.split("/homes/")[0], ignore_errors=True)


# --------------------------------------------------------------------------- a hub with sandboxes


@contextmanager
def sandbox_place(demo_data: Path, folders: str, accounts: list[str]):
    """A folder outside /tmp (so the sandbox must hide each part itself), open to everyone;
    the data and the campus state in it are closed (mode 700), as an admin would leave them.
    Afterwards the folder and the Unix `accounts` are removed."""
    need_sandbox()
    folder = Path(tempfile.mkdtemp(prefix=Path(folders).name, dir=Path(folders).parent))
    try:
        folder.chmod(0o755)
        shutil.copytree(demo_data, folder / "data")
        (folder / "data").chmod(0o700)
        (folder / "hub" / "campus-state").mkdir(parents=True, mode=0o700)
        yield folder
    finally:
        for name in accounts:
            subprocess.run(["userdel", "--force", name], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def place(demo_data):
    need_sandbox()
    remove_leftovers()
    with sandbox_place(demo_data, FOLDERS, [PREFIX + name for name in PEOPLE]) as folder:
        (folder / "templates").mkdir()
        (folder / "templates" / "start-here.ipynb").write_text(json.dumps(NOTEBOOK))
        yield folder


@pytest.fixture(scope="module")
def hub(place):
    with running_hub(place / "hub", CAMPUS_HUB_SPAWNER="sandbox", CAMPUS_HUB_DATA_SERVICE="true",
                     CAMPUS_DATA_DIR=str(place / "data"), CAMPUS_SANDBOX_HOMES_DIR=str(place / "homes"),
                     CAMPUS_SANDBOX_ACCOUNT_PREFIX=PREFIX, CAMPUS_SANDBOX_TEMPLATES_DIR=str(place / "templates"),
                     CAMPUS_SANDBOX_MAX_PROCESSES="300", CAMPUS_SANDBOX_MEMORY="8G") as running:
        yield running


def admin(hub) -> dict[str, str]:
    return {"Authorization": f"token {hub.token}"}


def start_servers(hub, names) -> dict[str, float]:
    """Start the servers through the hub's REST API; {name: seconds until ready}."""
    began = time.monotonic()
    for name in names:
        started = httpx.post(hub.api + f"users/{name}/server", headers=admin(hub), timeout=60)
        assert started.status_code in (201, 202), f"{started.text}\n{hub.log()[-4000:]}"
    took, deadline = {}, time.monotonic() + 90
    while len(took) < len(names):
        for name in set(names) - set(took):
            user = httpx.get(hub.api + f"users/{name}", headers=admin(hub), timeout=30).json()
            server = user["servers"].get("")
            if server and server["ready"]:
                took[name] = round(time.monotonic() - began, 1)
            elif not server and not user.get("pending"):
                raise AssertionError(f"{name}'s server failed to start:\n{hub.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the servers did not start in 90 s:\n{hub.log()[-4000:]}")
        time.sleep(0.2)
    return took


def stop_server(hub, name: str) -> None:
    httpx.delete(hub.api + f"users/{name}/server", headers=admin(hub), timeout=60)
    deadline = time.monotonic() + 60
    while httpx.get(hub.api + f"users/{name}", headers=admin(hub), timeout=30).json()["servers"]:
        assert time.monotonic() < deadline, f"{name}'s server did not stop"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(hub):
    """alice's and bob's servers, started together; {name: seconds until ready}."""
    took = start_servers(hub, PEOPLE)
    print(f"sandboxed servers ready after {took} s")
    yield took
    for name in PEOPLE:
        stop_server(hub, name)


class Kernel:
    """A kernel in someone's server, driven through the server's REST API and websocket."""

    def __init__(self, hub, user: str):
        self.base = f"{hub.url}user/{user}/api/kernels"
        self.headers = admin(hub)
        started = httpx.post(self.base, headers=self.headers, json={}, timeout=60)
        assert started.status_code == 201, f"{started.text}\n{hub.log()[-4000:]}"
        self.id = started.json()["id"]
        url = self.base.replace("http", "ws", 1) + f"/{self.id}/channels"
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {hub.token}"], timeout=60)
        self.log = hub.log
        self.session = uuid.uuid4().hex

    def run(self, code: str) -> str:
        """Run `code`; its printed output, or AssertionError with the kernel's traceback."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "session": self.session, "username": "test", "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out: list[str] = []
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, f"no answer from the kernel in 120 s:\n{self.log()[-4000:]}"
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def json(self, code: str):
        return json.loads(self.run(code).strip().splitlines()[-1])

    def close(self) -> None:
        self.ws.close()
        httpx.delete(f"{self.base}/{self.id}", headers=self.headers, timeout=30)


@pytest.fixture(scope="module")
def kernel(hub, servers):
    k = Kernel(hub, "alice")
    yield k
    k.close()


def home(place, name: str) -> Path:
    return place / "homes" / (PREFIX + name)


# --------------------------------------------------------------------------- who she is


def test_both_servers_start_in_their_sandboxes(servers):
    assert set(servers) == set(PEOPLE) and max(servers.values()) < 60


def test_the_server_runs_as_her_own_account_without_privileges(kernel):
    seen = kernel.json("""
import os, json, resource, socket
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                  "no_new_privs": status["NoNewPrivs"].strip(), "cap_eff": status["CapEff"].strip(),
                  "cap_bnd": status["CapBnd"].strip(), "host": socket.gethostname(), "cwd": os.getcwd(),
                  "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
                  "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
                  "data": resource.getrlimit(resource.RLIMIT_DATA)[0]}))
""")
    alice = account("alice")
    assert alice.pw_uid != 0 and alice.pw_shell == "/usr/sbin/nologin"
    assert (seen["uid"], seen["euid"], seen["gid"]) == (alice.pw_uid, alice.pw_uid, alice.pw_gid)
    assert set(seen["groups"]) <= {alice.pw_gid}
    assert seen["no_new_privs"] == "1" and int(seen["cap_eff"], 16) == 0 and int(seen["cap_bnd"], 16) == 0
    assert seen["host"] == "campus" and seen["cwd"] == alice.pw_dir
    assert seen["processes"] < 20  # its own PID namespace: the server and its kernels, not the machine
    assert seen["nproc"] == 300  # CAMPUS_SANDBOX_MAX_PROCESSES
    assert seen["data"] == 8 * 1024**3  # CAMPUS_SANDBOX_MEMORY


def test_her_home_is_private_hers_and_starts_with_the_templates(place, kernel):
    mine = home(place, "alice")
    info = mine.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (account("alice").pw_uid, 0o700)
    copy = mine / "templates" / "start-here.ipynb"
    assert copy.stat().st_uid == account("alice").pw_uid
    listed = kernel.json("import os, json; open('mine.txt', 'w').write('x'); print(json.dumps(os.listdir()))")
    assert {"mine.txt", "templates"} <= set(listed)


# --------------------------------------------------------------------------- what she cannot see


def probe(kernel, paths: dict[str, Path]) -> dict[str, str]:
    """For each path, what her kernel finds: 'missing', 'denied', 'empty' or what it read."""
    return kernel.json(f"""
import json, os
def look(path):
    try:
        return "empty" if os.path.isdir(path) and not os.listdir(path) else (
            "lists " + ",".join(sorted(os.listdir(path))) if os.path.isdir(path) else "read " + open(path).read(20))
    except FileNotFoundError:
        return "missing"
    except PermissionError:
        return "denied"
print(json.dumps({{name: look(path) for name, path in {json.dumps({k: str(v) for k, v in paths.items()})}.items()}}))
""")


def secrets_of(place, hub) -> dict[str, Path]:
    """What no kernel may see, each of which exists outside the sandbox."""
    bob = home(place, "bob")
    (bob / "notes.txt").write_text("bob's notes")
    os.chown(bob / "notes.txt", account("bob").pw_uid, account("bob").pw_gid)
    hub_state = Path(hub.env["CAMPUS_HUB_STATE_DIR"])
    campus_state = Path(hub.env["CAMPUS_STATE_DIR"])
    parquet = next((place / "data").rglob("*.parquet"))
    found = {"raw data": place / "data", "a parquet file": parquet, "campus state": campus_state,
             "hub state": hub_state, "admin token": hub_state / "admin-token",
             "hub database": hub_state / "jupyterhub.sqlite", "bob's home": bob, "bob's notes": bob / "notes.txt",
             "a file in the hub account's home": next(p for p in Path.home().iterdir() if p.is_file())}
    for name, path in found.items():
        assert path.exists(), f"{name} ({path}) should exist outside the sandbox"
    assert any(campus_state.iterdir()), "the data service keeps its database in the campus state"
    return found


def test_the_kernel_cannot_see_the_data_the_state_or_other_homes(place, hub, servers, kernel):
    seen = probe(kernel, secrets_of(place, hub))
    leaked = {name: what for name, what in seen.items() if what not in ("missing", "empty", "denied")}
    assert not leaked, f"visible in alice's kernel: {leaked}"
    homes = probe(kernel, {"homes": place / "homes"})["homes"]
    assert homes == f"lists {PREFIX}alice"  # her own home, and nobody else's


def test_permissions_keep_her_out_even_without_the_sandbox(place, hub, servers):
    """Outside bubblewrap, as alice's uid: each folder's own mode refuses her."""
    alice = account("alice")
    as_alice = ["setpriv", f"--reuid={alice.pw_uid}", f"--regid={alice.pw_gid}", "--clear-groups", "--"]
    for name, path in secrets_of(place, hub).items():
        done = subprocess.run([*as_alice, "ls", "-la", str(path)], capture_output=True, text=True)
        assert done.returncode != 0 and "Permission denied" in done.stderr, (name, done.stdout)


RAN = "import pathlib; pathlib.Path.home().joinpath('ran-{}').touch()\n"
UNDO_LOCKDOWN = {  # what a researcher might leave in her home to get downloads back
    ".jupyter/jupyter_server_config.py": RAN.format("jupyter-config") + "c.ServerApp.terminals_enabled = True\n",
    ".local/etc/jupyter/jupyter_server_config.py": RAN.format("user-site-config"),
    "jupyter_server_config.py": RAN.format("config-in-cwd"),
    ".local/lib/python3.11/site-packages/undo.pth": RAN.format("user-site-pth").replace("\n", "") + "\n",
    ".jupyter/labconfig/page_config.json": json.dumps({"disabledExtensions": {p: False for p in PLUGINS},
                                                       "lockedExtensions": {p: False for p in PLUGINS}}),
}


def test_a_restarted_server_keeps_the_home_and_ignores_config_left_in_it(place, hub, servers):
    """bob's server, stopped and started again: his edits stay (the home is not new), and
    Jupyter config he left in his home does not undo the lockdown."""
    bob, entry = home(place, "bob"), account("bob")
    (bob / "templates" / "start-here.ipynb").write_text("bob's edit")
    for name, text in UNDO_LOCKDOWN.items():
        (bob / name).parent.mkdir(parents=True, exist_ok=True)
        (bob / name).write_text(text)
    subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(bob)], check=True)
    stop_server(hub, "bob")
    took = start_servers(hub, ["bob"])
    print(f"bob's server restarted in {took['bob']} s")
    assert (bob / "templates" / "start-here.ipynb").read_text() == "bob's edit"
    assert (bob.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in bob.glob("ran-*")) == []  # none of it was even run
    base = f"{hub.url}user/bob/"
    with httpx.Client(headers=admin(hub), timeout=30) as client:
        assert client.get(base + "api/contents/jupyter_server_config.py").status_code == 200
        assert client.get(base + "files/jupyter_server_config.py").status_code == 404
        assert client.get(base + "api/terminals").status_code == 404
        config = lab_config(client.get(base + "lab"))
        assert set(PLUGINS) <= set(config["disabledExtensions"]) & set(config["lockedExtensions"])


# --------------------------------------------------------------------------- no downloads


def test_files_terminals_and_nbconvert_are_refused_even_to_an_admin(hub, servers):
    base = f"{hub.url}user/alice/"
    with httpx.Client(headers=admin(hub), timeout=30) as client:
        saved = client.put(base + "api/contents/report.ipynb", json={"type": "notebook", "content": NOTEBOOK})
        assert saved.status_code in (200, 201), saved.text
        assert client.get(base + "api/contents/report.ipynb").status_code == 200  # the editor still works
        refused = {
            "files": client.get(base + "files/report.ipynb"),
            "terminals": client.get(base + "api/terminals"),
            "new terminal": client.post(base + "api/terminals"),
            "nbconvert download": client.get(base + "nbconvert/html/report.ipynb?download=true"),
            "nbconvert exporters": client.get(base + "api/nbconvert"),
        }
    assert {name: r.status_code for name, r in refused.items() if r.status_code not in (403, 404)} == {}


def lab_config(page: httpx.Response) -> dict:
    """JupyterLab's page config, with its extension lists as lists of names."""
    assert page.status_code == 200, page.text[:500]
    start = page.text.index('id="jupyter-config-data"')
    config = json.loads(page.text[page.text.index(">", start) + 1: page.text.index("</script>", start)])
    for key in ("disabledExtensions", "lockedExtensions"):
        if isinstance(config[key], dict):
            config[key] = [name for name, on in config[key].items() if on]
    return config


def test_jupyterlab_download_and_export_plugins_are_disabled_and_locked(hub, servers):
    config = lab_config(httpx.get(f"{hub.url}user/alice/lab", headers=admin(hub), timeout=30))
    assert set(PLUGINS) <= set(config["disabledExtensions"])
    assert set(PLUGINS) <= set(config["lockedExtensions"])


# --------------------------------------------------------------------------- the data service


def test_her_kernel_holds_her_token_and_no_campus_secrets(kernel):
    env = kernel.json("import os, json; print(json.dumps(sorted(os.environ)))")
    assert "JUPYTERHUB_API_TOKEN" in env and "CAMPUS_SERVICE_URL" in env
    assert [k for k in env if k.startswith("CAMPUS_")] == ["CAMPUS_SERVICE_URL"]


def test_the_data_service_answers_her_kernel_as_alice(kernel):
    me = kernel.json("""
import os, json, httpx
answer = httpx.get(os.environ["CAMPUS_SERVICE_URL"] + "api/me", timeout=60,
                   headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
print(json.dumps(answer.json()))
""")
    assert me["user"] == "alice"
    assert set(me["groups"]) == {"researchers", "project:gangnam-retail"}


def test_campus_sql_works_in_her_kernel(kernel):
    rows = kernel.json("""
import campus, json
r = campus.sql("SELECT district, count(*) AS n FROM card_usage GROUP BY district")
print(json.dumps(r.pl().height))
""")
    assert rows == 25


# --------------------------------------------------------------------------- it fails closed (fast)


def test_without_bwrap_or_setpriv_no_server_starts(tmp_path):
    with pytest.raises(SandboxUnavailable) as refused:
        find_tools(str(tmp_path))
    assert "apt-get install bubblewrap" in refused.value.reason and "util-linux" in refused.value.reason


def test_a_hidden_folder_open_to_everyone_is_refused(tmp_path):
    open_folder = Path(tempfile.mkdtemp(dir="/var/tmp"))
    try:
        open_folder.chmod(0o755)
        spawner = SandboxSpawner(hidden_paths=[str(open_folder)], homes_dir=str(tmp_path / "homes"))
        with pytest.raises(SandboxUnavailable, match="chmod o-rwx"):
            spawner.check_hidden_folders()
        open_folder.chmod(0o750)
        assert spawner.check_hidden_folders() == [open_folder.resolve()]
    finally:
        open_folder.rmdir()


def test_a_new_home_gets_the_templates_once_and_keeps_her_edits(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving a home to another account needs root")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "start.ipynb").write_text("template")
    home_dir, nobody = tmp_path / "homes" / "campus-x", pwd.getpwnam("nobody")
    assert make_home(home_dir, nobody.pw_uid, nobody.pw_gid, templates) is True
    assert (home_dir.stat().st_mode & 0o777, (home_dir / "templates" / "start.ipynb").stat().st_uid) == \
        (0o700, nobody.pw_uid)
    (home_dir / "templates" / "start.ipynb").write_text("her edit")
    assert make_home(home_dir, nobody.pw_uid, nobody.pw_gid, templates) is False
    assert (home_dir / "templates" / "start.ipynb").read_text() == "her edit"
    with pytest.raises(SandboxUnavailable, match="not a folder owned by uid"):
        make_home(home_dir, nobody.pw_uid + 1, nobody.pw_gid, templates)
    assert make_home(tmp_path / "homes" / "campus-y", nobody.pw_uid, nobody.pw_gid, tmp_path / "none") is True


def test_every_sandbox_setting_is_in_the_hub_readme():
    readme = (PROJECT_ROOT / "hub" / "README.md").read_text()
    for name in SandboxSettings.model_fields:
        variable = f"CAMPUS_SANDBOX_{name.upper()}"
        assert f"`{variable}`" in readme, f"hub/README.md does not document {variable}"
