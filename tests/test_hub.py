"""The campus hub, for real: ``hub/jupyterhub_config.py`` in a `jupyterhub` process.

One hub (campus accounts, no data service, no Unix users) serves two suites:

* provisioning — the admin commands change ``users.yaml`` (comments kept) and the hub's
  users and groups, checked through the hub's REST API;
* sign-in — campus accounts: a provisioned user signs in with the login form and the
  password an admin set; wrong passwords in a row lock the name.

`running_hub` is used by ``test_hub_oidc.py`` and ``test_hub_service.py`` too.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from campus.cli import app as cli_app
from campus.cli import _mount
from campus.hub.api import HubAdmin
from campus.hub.passwords import Passwords
from campus.hub.users import UsersFile
from campus.provisioning import load as load_users
from campus.settings import PROJECT_ROOT, HubSettings, OidcSettings

CONFIG = PROJECT_ROOT / "hub" / "jupyterhub_config.py"
USERS_YAML = PROJECT_ROOT / "hub" / "users.yaml"
PROXY = PROJECT_ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB = Path(sys.executable).with_name("jupyterhub")
TODAY = datetime.date.today()

pytestmark = pytest.mark.slow


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def need_node() -> None:
    """Skip (saying why) when node/npm are missing; install the proxy when they are there."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed: JupyterHub's proxy (configurable-http-proxy) needs them")
    if not PROXY.exists():
        subprocess.run([str(PROJECT_ROOT / "scripts" / "node-proxy")], check=True, timeout=300)


@dataclass
class Hub:
    """A running campus hub."""

    url: str  # public, through the proxy: http://127.0.0.1:<port>/
    api: str  # the hub's REST API: http://127.0.0.1:<port>/hub/api/
    token: str  # the admin commands' token
    env: dict[str, str]  # its CAMPUS_HUB_* settings (the admin commands use the same)
    folder: Path
    users_file: Path
    process: subprocess.Popen

    def admin(self) -> HubAdmin:
        return HubAdmin(self.api, self.token)

    def log(self) -> str:
        return (self.folder / "hub.log").read_text(errors="replace")

    def browser(self) -> httpx.Client:
        """A client with its own cookies, like one browser."""
        return httpx.Client(base_url=self.url, timeout=30)


def _stop(process: subprocess.Popen, pid_file: Path | None = None) -> None:
    """SIGTERM the hub (it stops its proxy and services), wait; then the proxy if it outlived it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if pid_file and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass


@contextmanager
def running_hub(folder: Path, users_yaml: Path = USERS_YAML, **settings: str):
    """Start the campus hub from hub/jupyterhub_config.py on free loopback ports; yield a `Hub`.

    `settings` are extra environment variables (e.g. ``CAMPUS_HUB_AUTH="oidc"``); by
    default the hub runs without the data service, the idle culler and Unix users.
    """
    need_node()
    folder.mkdir(parents=True, exist_ok=True)
    users_file = folder / "users.yaml"
    shutil.copy(users_yaml, users_file)
    env = {
        "CAMPUS_HUB_BIND_URL": f"http://127.0.0.1:{free_port()}",
        "CAMPUS_HUB_INTERNAL_URL": f"http://127.0.0.1:{free_port()}",
        "CAMPUS_HUB_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
        "CAMPUS_HUB_DATA_URL": f"http://127.0.0.1:{free_port()}",
        "CAMPUS_HUB_STATE_DIR": str(folder / "hub-state"),
        "CAMPUS_HUB_USERS_FILE": str(users_file),
        "CAMPUS_HUB_SPAWNER": "simple",
        "CAMPUS_HUB_DATA_SERVICE": "false",
        "CAMPUS_HUB_CULL_IDLE": "0",
        "CAMPUS_STATE_DIR": str(folder / "campus-state"),
    } | settings
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_"))}
    log = open(folder / "hub.log", "wb")
    process = subprocess.Popen([str(JUPYTERHUB), "-f", str(CONFIG)], cwd=folder, env=base | env,
                               stdout=log, stderr=subprocess.STDOUT)
    log.close()
    public, api = env["CAMPUS_HUB_BIND_URL"].rstrip("/") + "/", env["CAMPUS_HUB_INTERNAL_URL"].rstrip("/") + "/hub/api/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                log_tail = (folder / "hub.log").read_text()[-4000:]
                raise RuntimeError(f"the hub exited ({process.returncode}):\n{log_tail}")
            try:
                if httpx.get(public + "hub/api", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start in 90 s:\n{(folder / 'hub.log').read_text()[-4000:]}")
            time.sleep(0.2)
        token = (folder / "hub-state" / "admin-token").read_text().strip()
        yield Hub(public, api, token, env, folder, users_file, process)
    finally:
        _stop(process, folder / "hub-state" / "proxy.pid")


# --------------------------------------------------------------------------- the admin commands


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub"), CAMPUS_HUB_MAX_FAILED_LOGINS="3",
                     CAMPUS_HUB_LOCKOUT_SECONDS="2") as running:
        yield running


@pytest.fixture(scope="module")
def campus(hub):
    """`campus ...` run in-process against the hub (as an admin would, with its settings)."""
    env = {k: v for k, v in hub.env.items() if k.startswith("CAMPUS_HUB_")} | {"CAMPUS_HUB_TOKEN": hub.token,
                                                                               "COLUMNS": "400"}
    return command_line(env)


def command_line(env: dict[str, str]):
    """A function running `campus ARGS...` in-process with `env`; it fails on a non-zero exit unless not `ok`."""
    _mount()
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None):
        result = runner.invoke(cli_app, list(args), env=env, input=input, catch_exceptions=True)
        if ok and result.exit_code != 0:
            raise AssertionError(f"campus {' '.join(args)} failed ({result.exit_code}):\n{result.output}"
                                 f"\n{result.exception!r}")
        return result

    return run


def hub_groups(hub: Hub) -> dict[str, set[str]]:
    with hub.admin() as admin:
        return admin.state().groups


def hub_users(hub: Hub) -> dict[str, bool]:
    with hub.admin() as admin:
        return admin.state().users


def test_the_hub_starts_with_the_files_users_and_groups(hub):
    assert hub_users(hub) == {"alice": False, "bob": False, "sejin": False, "admin": True}
    groups = hub_groups(hub)
    assert groups["researchers"] == {"alice", "bob"}
    assert groups["admins"] == {"admin"}
    assert groups["project:gangnam-retail"] == {"alice"}


def test_adding_a_user_and_a_group_changes_the_file_and_the_hub(hub, campus):
    campus("users", "add", "carol", "-g", "researchers", "--full-name", "Carol Choi")
    campus("groups", "add", "analysts", "-m", "carol")

    assert "carol" in hub_users(hub)
    groups = hub_groups(hub)
    assert groups["researchers"] == {"alice", "bob", "carol"}
    assert groups["analysts"] == {"carol"}
    text = hub.users_file.read_text()
    assert text.startswith("# Who is on the campus")  # the comments are kept
    assert load_users(hub.users_file).users["carol"].groups == ["researchers", "analysts"]


def test_sync_makes_the_hub_match_an_edited_file(hub, campus):
    users = UsersFile(hub.users_file)  # an admin edits the file by hand
    users.add_user("dave", ["analysts"])
    users.remove_user("bob")
    users.save()

    dry = campus("users", "sync", "--dry-run")
    assert "would add user dave" in dry.output and "would remove user bob" in dry.output
    assert "dave" not in hub_users(hub)

    campus("users", "sync", str(hub.users_file))
    users_now = hub_users(hub)
    assert "dave" in users_now and "bob" not in users_now
    assert hub_groups(hub)["analysts"] == {"carol", "dave"}
    assert hub_groups(hub)["researchers"] == {"alice", "carol"}
    assert "the hub matches" in campus("users", "sync").output


def test_list_shows_the_file_and_what_the_hub_holds(hub, campus):
    with hub.admin() as admin:
        admin.add_user("stranger")
    try:
        out = campus("users", "list").output
        assert re.search(r"dave .* analysts .* yes", out)
        assert re.search(r"admin .* admins .* admin", out)
        assert re.search(r"stranger .* not in users.yaml", out)
    finally:
        with hub.admin() as admin:
            admin.remove_user("stranger")


def test_removing_a_user_takes_them_out_of_the_hub_and_the_file(hub, campus):
    campus("users", "remove", "carol")
    assert "carol" not in hub_users(hub)
    assert hub_groups(hub)["analysts"] == {"dave"}
    assert "carol" not in load_users(hub.users_file).users


def test_removing_a_group_and_making_an_admin(hub, campus):
    campus("groups", "add", "visitors", "-m", "dave")
    assert hub_groups(hub)["visitors"] == {"dave"}
    campus("groups", "remove", "visitors")
    assert "visitors" not in hub_groups(hub)
    campus("groups", "add", "admins", "-m", "dave")  # admins in users.yaml are hub admins
    assert hub_users(hub)["dave"] is True
    campus("groups", "remove", "admins", "-m", "dave")
    assert hub_users(hub)["dave"] is False
    assert campus("groups", "members", "analysts").output.split() == ["dave"]


def test_a_project_has_a_hub_group_until_it_expires(hub, campus):
    campus("projects", "add", "jongno-air", "-m", "dave,alice", "--expires", "2999-12-31",
           "--description", "Air quality near Jongno")
    assert hub_groups(hub)["project:jongno-air"] == {"alice", "dave"}
    campus("projects", "members", "jongno-air", "--remove", "alice")
    assert hub_groups(hub)["project:jongno-air"] == {"dave"}

    campus("projects", "expire", "jongno-air")
    assert "project:jongno-air" not in hub_groups(hub)
    project = load_users(hub.users_file).projects["jongno-air"]
    assert project.expires == TODAY - datetime.timedelta(days=1)
    assert "expired 1 day(s) ago" in campus("projects", "list").output

    campus("projects", "expire", "jongno-air", "--on", "2999-01-01")  # extended again
    assert hub_groups(hub)["project:jongno-air"] == {"dave"}


def test_sync_drops_the_group_of_a_project_whose_date_passed(hub, campus):
    users = UsersFile(hub.users_file)
    users.set_expiry("gangnam-retail", datetime.date(2020, 1, 31))  # edited by hand
    users.save()
    assert "project:gangnam-retail" in hub_groups(hub)
    out = campus("users", "sync").output
    assert "remove group project:gangnam-retail" in out
    assert "project:gangnam-retail" not in hub_groups(hub)


@pytest.mark.parametrize("args, says", [
    (["users", "add", "Bad Name"], "is not a user name"),
    (["groups", "add", "project:x", "-m", "dave"], "use campus projects instead"),
    (["groups", "add", "analysts", "-m", "nobody"], "nobody is not a user"),
    (["projects", "add", "p", "-m", "nobody", "--expires", "2999-01-01"], "nobody is not a user"),
    (["projects", "add", "p", "-m", "dave", "--expires", "31/12/2030"], "write it as YYYY-MM-DD"),
    (["projects", "expire", "no-such"], "there is no project 'no-such'"),
    (["groups", "remove", "analysts", "-m", "alice"], "not in group analysts: alice"),
])
def test_mistakes_change_nothing_and_say_what_to_do(hub, campus, args, says):
    before = hub.users_file.read_text()
    result = campus(*args, ok=False)
    assert result.exit_code != 0
    message = str(getattr(result.exception, "reason", "")) + result.output
    assert says in " ".join(message.replace("│", " ").split())
    assert hub.users_file.read_text() == before


def test_when_the_hub_is_down_the_file_changes_and_the_error_says_sync(tmp_path):
    _mount()
    users_file = tmp_path / "users.yaml"
    shutil.copy(USERS_YAML, users_file)
    env = {"CAMPUS_HUB_USERS_FILE": str(users_file), "CAMPUS_HUB_TOKEN": "x",
           "CAMPUS_HUB_API_URL": f"http://127.0.0.1:{free_port()}/hub/api"}
    result = CliRunner().invoke(cli_app, ["users", "add", "erin", "-g", "researchers"], env=env)
    assert result.exit_code != 0
    assert "is changed, but the hub is not" in result.exception.reason
    assert "campus users sync" in result.exception.reason
    assert "erin" in load_users(users_file).users
    file_only = CliRunner().invoke(cli_app, ["users", "add", "fred", "--file-only"], env=env)
    assert file_only.exit_code == 0, file_only.output


def test_the_command_line_entry_point(hub):
    """Once through the installed `campus` script (the rest run in-process to save time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_"))}
    env |= {k: v for k, v in hub.env.items() if k.startswith("CAMPUS_HUB_")} | {"CAMPUS_HUB_TOKEN": hub.token}
    done = subprocess.run([str(Path(sys.executable).with_name("campus")), "groups", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "analysts" in done.stdout


# --------------------------------------------------------------------------- signing in (campus accounts)


def form_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    page.raise_for_status()
    return re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    """The login form, posted as a browser would."""
    xsrf = form_token(client, "hub/login")
    return client.post("hub/login?next=/hub/home", data={"username": name, "password": password, "_xsrf": xsrf})


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 302 and response.headers["location"].endswith("/hub/home")


def test_an_account_signs_in_with_the_password_an_admin_set_and_cannot_mint_tokens_or_share(hub, campus):
    campus("users", "password", "alice", input="alice-long-passphrase\nalice-long-passphrase\n")
    stored = (Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords").read_text()
    assert stored.startswith("alice:$argon2id$") and "passphrase" not in stored

    with hub.browser() as client:
        assert signed_in(sign_in(client, "alice", "alice-long-passphrase"))
        assert client.get("hub/home").status_code == 200
        xsrf = {"X-XSRFToken": client.cookies.get("_xsrf", "")}
        assert client.get("hub/api/user", headers=xsrf).json()["name"] == "alice"
        # ... and cannot make tokens of her own: only her server's token reaches the data service
        minted = client.post("hub/api/users/alice/tokens", json={"scopes": ["access:services!service=data"]},
                             headers=xsrf)
        assert minted.status_code == 403, minted.text
        assert "tokens" in minted.json()["message"]
        shared = client.post("hub/api/shares/alice/", json={"user": "dave"}, headers=xsrf)
        assert shared.status_code == 403, shared.text  # nor share her server


def test_a_wrong_password_fails_and_repeated_failures_lock_the_name(hub, campus):
    password = campus("users", "password", "sejin", "--generate").stdout.strip()
    with hub.browser() as client:
        for _ in range(3):  # CAMPUS_HUB_MAX_FAILED_LOGINS
            wrong = sign_in(client, "sejin", "not-her-password")
            assert not signed_in(wrong) and "Invalid username or password" in wrong.text
        locked = sign_in(client, "sejin", password)  # locked, even with the right password
        assert locked.status_code == 429 and "Too many wrong passwords" in locked.text
        time.sleep(2.2)  # CAMPUS_HUB_LOCKOUT_SECONDS
        assert signed_in(sign_in(client, "sejin", password))


def test_a_password_alone_does_not_let_in_someone_nobody_provisioned(hub, campus):
    assert campus("users", "password", "mallory", "--generate", ok=False).exit_code != 0
    Passwords(Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords").set("mallory", "mallory-long-passphrase")
    with hub.browser() as client:
        assert not signed_in(sign_in(client, "mallory", "mallory-long-passphrase"))
    assert "mallory" not in hub_users(hub)


def test_a_short_password_is_refused(hub, campus):
    result = campus("users", "password", "alice", input="short\nshort\n", ok=False)
    assert "at least 10 characters" in result.exception.reason


# --------------------------------------------------------------------------- settings are documented


def test_every_hub_setting_is_in_the_hub_readme():
    readme = (PROJECT_ROOT / "hub" / "README.md").read_text()
    for model, prefix in ((HubSettings, "CAMPUS_HUB_"), (OidcSettings, "CAMPUS_OIDC_")):
        for name in model.model_fields:
            assert f"`{prefix}{name.upper()}`" in readme, f"hub/README.md does not document {prefix}{name.upper()}"
