"""The Rego unit tests (``policies/campus/*_test.rego``), one pytest case per test rule,
run with regopy as `campus policy test` runs them."""

from __future__ import annotations

import re

import pytest
from test_policy_fixtures import campus_root, write

from campus.policy import PolicyPaths, regotest
from campus.settings import Settings

PATHS = PolicyPaths.of(Settings())
TESTS = regotest.discover(PATHS)


@pytest.fixture(scope="module")
def outcomes():
    return {outcome.test: outcome for outcome in regotest.run(PATHS)}


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_rego(outcomes, test):
    outcome = outcomes[test]
    assert outcome.passed, f"{test.file.name}:{test.line}: {outcome.detail}"


def test_every_policy_module_has_tests_beside_it():
    tested = {p.name.removesuffix("_test.rego") for p in PATHS.rego_test_files()}
    assert {p.stem for p in PATHS.rego_files()} <= tested


def test_package_names_follow_paths():
    for path in [*PATHS.rego_files(), *PATHS.rego_test_files()]:
        package = re.search(r"^package\s+([\w.]+)", path.read_text(), re.M).group(1)
        assert package == PATHS.module_name(path).removesuffix(".rego").replace("/", "."), path


def test_the_policy_reads_the_clock_only_as_today():
    # The decision cache (campus/policy/store.py) relies on it: same day, same answer.
    readers = {p.name for p in PATHS.rego_files() if "input.now" in p.read_text()}
    assert readers == {"request.rego"}
    lines = [line for line in (PATHS.policies / "campus" / "request.rego").read_text().splitlines()
             if "input.now" in line]
    assert all(re.search(r"today :=|is_string\(input\.now\)|regex\.match", line) for line in lines), lines


def test_a_failing_and_an_unsafe_test_are_reported_not_run(tmp_path):
    root = campus_root(tmp_path, "grants: []\n")
    write(root / "policies/campus/extra_test.rego", """\
        package campus.extra_test

        import rego.v1

        import data.campus.request

        test_wrong if {
        	request.today == "1999-01-01" with input.now as "2026-11-23T06:00:00Z"
        }
        """)
    write(root / "policies/campus/crash_test.rego", """\
        package campus.crash_test

        import rego.v1

        import data.campus.request

        test_would_crash if {
        	count(request.problems) > 0 with input as {"user": 1}
        }
        """)
    results = {o.test.rule: o for o in regotest.run(PolicyPaths.of(Settings(root=root)))}
    assert not results["test_wrong"].passed
    assert "undefined" in results["test_wrong"].detail
    assert not results["test_would_crash"].passed
    assert "crash_test.rego:8: `with input as {...}` crashes rego-cpp" in results["test_would_crash"].detail
    assert results["test_today_is_the_day_of_now"].passed
