"""The engines: fail closed, give the same answers, reload without a restart."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
import regopy
from test_policy_fixtures import NOW, ask, campus_root, policy_at, write

from campus.errors import Denied
from campus.policy import OpaEngine, PolicyError, PolicyPaths, RegoEngine, expected, files
from campus.policy.decision import Decision
from campus.policy.engines import parse_decision
from campus.settings import Settings

GRANTS = """\
grants:
  - name: researchers-cards
    groups: [researchers]
    dataset: card_usage
    columns: all
    purpose: Researchers study spending.
"""
R = ["researchers"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- fail closed --------------------------------------------------------------------------


def test_a_module_that_does_not_parse_denies_every_request(tmp_path):
    root = campus_root(tmp_path, GRANTS, extra_rego={"broken.rego": "package campus.broken\n\nallow if {\n"})
    policy = policy_at(root)
    decision = ask(policy, "alice", R, None, "card_usage", ["district"])
    assert decision.allow is False and decision.failed
    assert decision.reason.startswith("the policy engine failed: no policy is loaded (the Rego does not compile: ")
    assert "campus/broken.rego:3:" in decision.reason
    assert decision.reason.endswith("the query was denied. Tell the steward.")
    assert "campus/broken.rego:3:" in policy.last_error


def test_a_module_that_fails_when_evaluated_is_refused_at_load(tmp_path):
    # rego-cpp finds an unknown function only when it runs; the probes run it before use
    root = campus_root(tmp_path / "campus", GRANTS)
    combine = root / "policies/campus/combine.rego"
    combine.write_text(combine.read_text().replace("EFFECT_ORDER[entry.grant.effect],", "no_such_function(entry),"))
    policy = policy_at(root)
    assert "Function not found: no_such_function" in policy.last_error
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).failed


def test_an_engine_error_while_deciding_is_a_deny(tmp_path, monkeypatch):
    policy = policy_at(campus_root(tmp_path, GRANTS))
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).allow

    def explode(*args):
        raise regopy.RegoError("out of memory")

    monkeypatch.setattr(regopy.Interpreter, "query_bundle_entrypoint", explode)
    decision = ask(policy, "bob", R, None, "card_usage", ["amount"])
    assert decision.allow is False and decision.failed
    assert "the policy engine failed: RegoError: out of memory" in decision.reason


class RaisingEngine:
    """An engine that breaks its promise never to raise."""

    name = "raising"

    def reload(self, source):
        pass

    def decide(self, input):
        raise RuntimeError("wires crossed")


def test_an_engine_that_raises_is_a_deny(tmp_path):
    from campus.policy import load_policy

    policy = load_policy(Settings(root=campus_root(tmp_path, GRANTS)), engine=RaisingEngine(), interval=0)
    decision = ask(policy, "alice", R, None, "card_usage", ["district"])
    assert decision.allow is False and decision.failed
    assert "RuntimeError: wires crossed" in decision.reason


BAD_RESULTS = [
        ("undefined", None, "the policy gave no decision \\(undefined\\)"),
        ("not an object", [True], "the policy gave a malformed decision"),
        ("allow without terms", {"allow": True, "reasons": ["yes"]}, "an allow decision must carry grant, mode"),
        ("allow that is not a boolean", {"allow": "yes", "reasons": ["x"]}, "allow: Input should be a valid boolean"),
        ("no reasons", {"allow": False, "reasons": []}, "reasons: List should have at least 1 item"),
]


@pytest.mark.parametrize("comment,value,error", BAD_RESULTS, ids=[row[0] for row in BAD_RESULTS])
def test_an_undefined_or_malformed_result_is_an_error(comment, value, error):
    with pytest.raises(PolicyError, match=error):
        parse_decision(value)


def test_an_opa_server_that_refuses_connections_is_a_deny(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    engine = OpaEngine(url, timeout=0.5)
    decision = engine.decide({"user": "alice"})
    assert decision.allow is False and decision.failed
    assert decision.reason.startswith(f"the policy engine failed: the OPA server at {url} did not answer")

    policy = policy_at(campus_root(tmp_path, GRANTS), policy_engine="opa", opa_url=url, opa_timeout=0.5)
    assert f"the OPA server at {url} did not take the policy" in policy.last_error
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).failed


def test_an_opa_url_must_be_http():
    with pytest.raises(PolicyError, match="is not an OPA server URL"):
        OpaEngine("opa.example:8181")


def test_the_opa_engine_is_chosen_by_its_url(monkeypatch):
    monkeypatch.setenv("CAMPUS_OPA_URL", "http://opa.internal:8181")
    assert Settings().policy_engine_in_use == "opa"
    monkeypatch.setenv("CAMPUS_POLICY_ENGINE", "rego")
    assert Settings().policy_engine_in_use == "rego"


def test_a_denied_decision_raises_denied_when_checked():
    decision = Decision.refused("no grant gives carol access to card_usage; ask the steward sejin")
    with pytest.raises(Denied, match="ask the steward sejin"):
        decision.check()


# -- one table, every engine --------------------------------------------------------------


def opa_server():
    """An OPA server URL, or the reason there is none."""
    if os.environ.get("OPA_URL"):
        return os.environ["OPA_URL"], None
    binary = shutil.which("opa")
    if not binary:
        return None, "no OPA server: set OPA_URL or put an `opa` binary on PATH"
    port = closed_port()
    server = subprocess.Popen([binary, "run", "--server", "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", server


@pytest.fixture(scope="module", params=["rego", "opa"])
def engine_policy(request):
    if request.param == "rego":
        yield policy_at(Settings().root, interval=3600)
        return
    url, server = opa_server()
    if url is None:
        pytest.skip(server)
    try:
        if server is not None:
            _wait_for(url)
        yield policy_at(Settings().root, interval=3600, policy_engine="opa", opa_url=url)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


def _wait_for(url: str) -> None:
    import urllib.request

    for _ in range(50):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=0.2)
            return
        except OSError:
            time.sleep(0.1)


TABLE = expected.load(PolicyPaths.of(Settings()).expected_decisions())


def test_every_engine_decides_the_shipped_table_alike(engine_policy):
    assert engine_policy.last_error is None
    results = expected.check_all(engine_policy, TABLE)
    assert [(r.case.name, r.problems) for r in results if not r.passed] == []


# -- many threads, one bundle ---------------------------------------------------------------


def test_threads_share_the_bundle_but_not_an_interpreter(tmp_path):
    source = files.load(PolicyPaths.of(Settings(root=campus_root(tmp_path, GRANTS))))
    engine = RegoEngine(source)
    now = "2026-11-23T06:00:00Z"
    requests = [
        {"user": user, "groups": groups, "project": None, "dataset": "card_usage", "columns": columns,
         "shape": "aggregates", "action": "query", "now": now}
        for user, groups in [("alice", R), ("carol", [])] for columns in (["district"], ["card_id"], ["amount"])
    ]
    expected_answers = [engine.decide(r).model_dump() for r in requests]
    wrong = []

    def work(offset):
        for i in range(40):
            k = (i + offset) % len(requests)
            if engine.decide(requests[k]).model_dump() != expected_answers[k]:
                wrong.append(k)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


# -- reload without a restart -----------------------------------------------------------------


def touch_later(path):
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_changed_grant_applies_to_the_next_decision(tmp_path):
    root = campus_root(tmp_path, GRANTS)
    policy = policy_at(root)
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).allow

    grants_file = root / "policies" / "grants.yaml"
    write(grants_file, GRANTS.replace("groups: [researchers]", "groups: [analysts]"))
    touch_later(grants_file)
    decision = ask(policy, "alice", R, None, "card_usage", ["district"])
    assert decision.allow is False
    assert "no grant gives alice access to card_usage" in decision.reason


def test_a_new_policy_file_is_picked_up(tmp_path):
    root = campus_root(tmp_path, GRANTS)
    policy = policy_at(root)
    assert not ask(policy, "alice", R, None, "air_quality", ["pm10"], shape="rows").allow
    write(root / "policies" / "air.yaml", """\
        grants:
          - {name: air, groups: [researchers], dataset: air_quality, mode: rows, columns: all, purpose: Open data.}
        """)
    assert ask(policy, "alice", R, None, "air_quality", ["pm10"], shape="rows").allow


def test_an_invalid_change_keeps_the_last_good_policy_and_says_why(tmp_path):
    root = campus_root(tmp_path, GRANTS)
    policy = policy_at(root)
    grants_file = root / "policies" / "grants.yaml"
    write(grants_file, GRANTS.replace("dataset: card_usage", "dataset: taxis"))
    touch_later(grants_file)

    decision = ask(policy, "alice", R, None, "card_usage", ["district"])
    assert decision.allow, "the last good policy still decides"
    assert policy.last_error == (
        f"{grants_file}:4: grants.0.dataset: there is no dataset 'taxis' in the catalog; "
        "it has: card_usage, sales_by_location, air_quality"
    )
    write(grants_file, GRANTS)
    touch_later(grants_file)
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).allow
    assert policy.last_error is None


def test_a_changed_project_expiry_applies(tmp_path):
    root = campus_root(tmp_path, GRANTS + """\
  - {name: retail, project: retail, dataset: sales_by_location, columns: all, purpose: Retail.}
""")
    policy = policy_at(root)
    assert ask(policy, "alice", R, "retail", "sales_by_location", ["district"]).allow
    users = root / "hub" / "users.yaml"
    users.write_text(users.read_text().replace("expires: 2027-06-30", "expires: 2026-11-01"))
    touch_later(users)
    assert "project retail expired on 2026-11-01" in ask(policy, "alice", R, "retail", "sales_by_location",
                                                         ["district"]).reason


def test_files_are_looked_at_at_most_once_per_interval(tmp_path):
    root = campus_root(tmp_path, GRANTS)
    policy = policy_at(root, interval=3600)
    grants_file = root / "policies" / "grants.yaml"
    write(grants_file, GRANTS.replace("groups: [researchers]", "groups: [analysts]"))
    touch_later(grants_file)
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).allow, "not looked at yet"
    assert policy.reload()
    assert not ask(policy, "alice", R, None, "card_usage", ["district"]).allow


# -- remembered decisions -------------------------------------------------------------------


def test_a_remembered_decision_is_still_decided_by_the_day(tmp_path):
    root = campus_root(tmp_path, GRANTS.replace("    purpose:", "    valid_until: 2026-11-23\n    purpose:"))
    policy = policy_at(root)
    late = datetime.datetime(2026, 11, 23, 23, 59, tzinfo=datetime.UTC)
    assert ask(policy, "alice", R, None, "card_usage", ["district"], now=late).allow
    assert ask(policy, "alice", R, None, "card_usage", ["district"], now=NOW).allow
    next_day = late + datetime.timedelta(minutes=2)
    assert "expired on 2026-11-23" in ask(policy, "alice", R, None, "card_usage", ["district"], now=next_day).reason


def test_a_remembered_decision_cannot_be_changed_by_its_caller(tmp_path):
    policy = policy_at(campus_root(tmp_path, GRANTS))
    first = ask(policy, "alice", R, None, "card_usage", ["district"])
    first.columns.clear()
    assert ask(policy, "alice", R, None, "card_usage", ["district"]).columns
