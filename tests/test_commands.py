"""Every `campus` command, run as an admin or steward would, on the shipped configuration.

The campus's own `hub/users.yaml`, `policies/` and `datasets/` are copied to a scratch
folder that is the campus root (so the commands that check the grants against the users
file do so, as on a real campus), a real hub runs over it, and each command runs in turn.
A command that no test runs fails `test_every_command_is_run_somewhere`, and a command the
READMEs name that does not exist fails `test_the_readmes_name_only_real_commands`.
"""

from __future__ import annotations

import re
import shutil

import pytest
import typer.main

import campus
from campus.audit import AuditLog
from campus.cli import _mount
from campus.cli import app as cli_app
from campus.provisioning import load as load_users
from campus.settings import PROJECT_ROOT, Settings
from test_hub import command_line, running_hub

#: Commands another test file runs the same way (that file must name them as run).
ELSEWHERE = {
    "up": ("test_up.py", '"up"'),
    "down": ("test_up.py", '"down"'),
    "serve": ("service_fixtures.py", '"serve"'),
    "datasets build": ("test_synth.py", '"datasets", "build"'),
    "datasets add": ("test_ingest.py", 'run("add"'),
    "datasets append": ("test_ingest.py", 'run("append"'),
    "datasets versions": ("test_ingest.py", 'run("versions"'),
    "datasets rollback": ("test_ingest.py", 'run("rollback"'),
}
RUN_HERE: set[str] = set()


def commands() -> set[str]:
    """Every leaf command of the `campus` command line, as "group command"."""
    _mount()

    def walk(command, path=()):
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(path)
            return
        for name, sub in subcommands.items():
            yield from walk(sub, (*path, name))

    return set(walk(typer.main.get_command(cli_app)))


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, demo_data):
    """A scratch copy of the shipped configuration as the campus root, with a real hub over it."""
    root = tmp_path_factory.mktemp("shipped")
    for folder in ("datasets", "policies"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    state = root / "state"
    with running_hub(root / "hub", PROJECT_ROOT / "hub" / "users.yaml", CAMPUS_ROOT=str(root),
                     CAMPUS_STATE_DIR=str(state), CAMPUS_DATA_DIR=str(demo_data)) as hub:
        yield hub, root, state


@pytest.fixture(scope="module")
def run(shipped):
    """`campus ARGS...` in-process, as the admin with the hub's settings; fails on a non-zero exit."""
    hub, root, state = shipped
    env = {k: v for k, v in hub.env.items() if k.startswith("CAMPUS_")} | {"CAMPUS_HUB_TOKEN": hub.token,
                                                                          "COLUMNS": "100"}
    command = command_line(env)

    def run(*args: str, **options):
        RUN_HERE.add(" ".join(a for a in args[:2] if not a.startswith("-")))
        return command(*args, **options)

    return run


def audit_of(state) -> list[dict]:
    log = AuditLog.of(Settings(state_dir=state))
    try:
        return log.events()
    finally:
        log.close()


def test_the_catalog_and_policy_commands(run):
    assert "card_usage" in run("datasets", "list").output
    assert "amount" in run("datasets", "describe", "card_usage").output
    assert run("policy", "check").exit_code == 0
    assert run("policy", "test").exit_code == 0
    explained = run("policy", "explain", "--user", "alice", "--dataset", "card_usage", "--columns", "district,amount")
    assert "allow" in explained.output.lower()
    assert run("policy", "schema").output.strip()
    assert "The campus SQL guide" in run("guide").output
    kept = run("datasets", "remove", "card_usage", "--yes", "--by", "sejin", ok=False)  # the shipped grants name it
    reason = getattr(kept.exception, "reason", "") + kept.output
    assert "grants.yaml" in reason and "card_usage" in run("datasets", "list").output


def test_an_admin_adds_a_user_sets_limits_and_removes_them(run, shipped):
    hub, root, state = shipped
    added = run("users", "add", "dana", "--group", "researchers", "--email", "dana@campus.example")
    assert "added dana" in added.output
    assert load_users(root / "hub" / "users.yaml").users["dana"].groups == ["researchers"]
    password = run("users", "password", "dana", "--generate").output.strip().splitlines()[0]
    assert len(password) >= 12
    listed = run("users", "list").output
    assert re.search(r"dana .* researchers", listed)

    run("users", "limits", "--group", "researchers", "--memory", "6GiB", "--cpus", "2")
    shown = run("users", "limits", "dana").output
    assert re.search(r"dana\s+│\s+6\.0 GiB\s+│\s+2\s+│", shown), shown
    assert load_users(root / "hub" / "users.yaml").limits["researchers"].cpus == 2
    run("users", "limits", "--group", "researchers", "--memory", "default", "--cpus", "default")
    assert "researchers" not in load_users(root / "hub" / "users.yaml").limits
    refused = run("users", "limits", "--group", "nobody-here", "--memory", "1G", ok=False)
    assert "campus groups add nobody-here" in refused.exception.reason

    run("groups", "add", "analysts", "-m", "dana")
    assert "dana" in run("groups", "members", "analysts").output
    assert "analysts" in run("groups", "list").output
    run("groups", "remove", "analysts", "-m", "dana")

    run("users", "remove", "dana")
    assert "dana" not in load_users(root / "hub" / "users.yaml").users
    assert "the hub matches" in run("users", "sync").output
    run("users", "sync", "--dry-run")

    kinds = [(e["action"], e["detail"].get("user") or e["detail"].get("group")) for e in audit_of(state)]
    for kind in [("user_added", "dana"), ("password_set", "dana"), ("limits_set", "researchers"),
                 ("group_joined", "analysts"), ("group_left", "analysts"), ("user_removed", "dana")]:
        assert kind in kinds, kinds


def test_projects_are_added_and_expired_with_the_shipped_grants_checked(run, shipped):
    hub, root, state = shipped
    run("projects", "add", "jongno-air", "-m", "alice", "--expires", "2099-06-30", "--description", "air")
    run("projects", "members", "jongno-air", "--add", "bob")
    assert "jongno-air" in run("projects", "list").output
    run("projects", "expire", "jongno-air")
    run("projects", "remove", "jongno-air")

    ended = run("projects", "expire", "gangnam-retail")  # a project the shipped grants name
    assert "its grants no longer apply" in ended.output
    assert load_users(root / "hub" / "users.yaml").projects["gangnam-retail"].expires < __import__("datetime").date.today()
    refused = run("projects", "remove", "gangnam-retail", ok=False)  # its grants still name it
    assert "change or remove those grants first" in refused.exception.reason
    actions = [e["action"] for e in audit_of(state)]
    assert {"project_added", "project_members", "project_expiry", "project_removed"} <= set(actions)


def test_budget_tokens_and_the_database(run, shipped):
    run("budget", "grant", "--scope", "user:alice", "--dataset", "card_usage", "--cells", "100", "--by", "sejin")
    assert "user:alice" in run("budget", "show").output
    run("budget", "reset", "--scope", "user:alice", "--dataset", "card_usage", "--by", "sejin")
    created = run("tokens", "create", "--user", "alice")
    token_id = re.search(r"\b(tok_[A-Za-z0-9]+|[0-9a-f]{8,})\b", run("tokens", "list").output)
    assert created.output.strip() and token_id
    run("tokens", "revoke", token_id.group(1))
    run("db", "upgrade")
    assert run("db", "current").output.strip()


def test_audit_show_filters_by_user_kind_and_time_and_prints_sql_whole(run, shipped):
    hub, root, state = shipped
    sql = ("SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage WHERE category = 'grocery' "
           "GROUP BY district ORDER BY district")
    opened = campus.open(root, data_dir=hub.env["CAMPUS_DATA_DIR"], state_dir=state)
    try:
        opened.session("alice", ["researchers"]).sql(sql)
    finally:
        opened.close()
    run("users", "add", "erin", "--group", "researchers")

    by_alice = run("audit", "show", "--user", "alice", "--last", "0").output
    assert sql in by_alice.replace("\n", "") or sql in by_alice
    assert sql in run("audit", "show", "--user", "alice").output.splitlines()[1]  # one line, not wrapped
    assert "erin" not in by_alice
    users_only = run("audit", "show", "--kind", "user_*").output
    assert "user_added" in users_only and "query" not in users_only.split()
    assert "no event matches" in run("audit", "show", "--since", "2999-01-01").output
    assert "no event matches" in run("audit", "show", "--until", "2000-01-01").output
    assert "user_added" in run("audit", "show", "--since", "1h", "--kind", "user_added").output
    assert run("audit", "show", "--since", "yesterday", ok=False).exit_code != 0
    assert "policy_in_force" in run("audit", "show", "--kind", "policy_*").output
    assert run("audit", "verify").exit_code == 0


def test_a_grant_edit_is_an_audit_event(shipped):
    hub, root, state = shipped
    opened = campus.open(root, data_dir=hub.env["CAMPUS_DATA_DIR"], state_dir=state)
    try:
        before = len(AuditLog.of(Settings(state_dir=state)).events(action="policy_in_force"))
        grants = root / "policies" / "grants.yaml"
        grants.write_text(grants.read_text() + "\n# reviewed by the stewards\n")
        assert opened.policy.reload()
    finally:
        opened.close()
    changed = AuditLog.of(Settings(state_dir=state)).events(action="policy_in_force")
    assert len(changed) == before + 1 and changed[0]["detail"]["changed"] == ["policies/grants.yaml"]


def test_every_command_is_run_somewhere(run):
    """Last in the file: every command is run here or, as ELSEWHERE says, in another test file."""
    missing = []
    for command in sorted(commands()):
        if command in RUN_HERE:
            continue
        where = ELSEWHERE.get(command)
        if where is None or where[1] not in (PROJECT_ROOT / "tests" / where[0]).read_text():
            missing.append(command)
    assert not missing, f"no test runs: {', '.join(missing)}"


def test_the_readmes_name_only_real_commands():
    known = commands()
    groups = {c.split()[0] for c in known}
    named = set()
    for readme in (PROJECT_ROOT / "README.md", PROJECT_ROOT / "hub" / "README.md"):
        for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme.read_text(), re.S):
            named |= {m for m in re.findall(r"(?:^|\s)(?:\.venv/bin/)?campus ([a-z]+(?: [a-z]+)?)", block, re.M)}
    for phrase in named:
        words = phrase.split()
        if words[0] in groups:
            assert phrase in known or phrase in groups or words[0] in known, f"the README names `campus {phrase}`, which does not exist"


def test_the_readmes_commands_run_as_written():
    """A command line in a README's shell block says `.venv/bin/campus`: a bare `campus` is
    not on a newcomer's PATH (the virtualenv is not activated)."""
    for readme in (PROJECT_ROOT / "README.md", PROJECT_ROOT / "hub" / "README.md"):
        for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", readme.read_text(), re.S):
            bare = [line for line in block.splitlines() if re.match(r"\s*(sudo\s+)?campus\s", line)]
            assert not bare, f"{readme.name}: write .venv/bin/campus in {bare}"
