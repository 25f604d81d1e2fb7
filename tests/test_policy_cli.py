"""`campus policy check | test | explain | schema`, through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from test_policy_fixtures import campus_root, write
from typer.testing import CliRunner

from campus.cli.policy import app
from campus.policy import grants

GRANTS = """\
grants:
  - name: researchers-cards
    groups: [researchers]
    dataset: card_usage
    columns: all
    masks: {home_district: region}
    purpose: Researchers study spending.
"""


@pytest.fixture
def campus(tmp_path, monkeypatch):
    root = campus_root(tmp_path, GRANTS)
    write(root / "policies" / "grants.schema.json", grants.json_schema())
    monkeypatch.setenv("CAMPUS_ROOT", str(root))
    monkeypatch.delenv("CAMPUS_OPA_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return root


def run(*args):
    return CliRunner().invoke(app, list(args))


def test_check_says_ok(campus):
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 1 grants on 1 datasets, 8 Rego modules, 7 users, 2 projects")


def test_check_lists_the_errors_with_file_and_line(campus):
    write(campus / "policies" / "grants.yaml", GRANTS.replace("columns: all", "columns: [district, fare]"))
    result = run("check")
    assert result.exit_code == 1
    assert "The policy has errors:" in result.output
    assert f"{campus}/policies/grants.yaml:5: grants.0.columns.1: card_usage has no column 'fare'" in result.output


def test_check_refuses_rows_of_people_for_a_group(campus):
    write(campus / "policies" / "grants.yaml", GRANTS.replace("    columns: all", "    mode: rows\n    columns: all"))
    result = run("check")
    assert result.exit_code == 1
    assert (f"{campus}/policies/grants.yaml:2: grants.0: rows of card_usage carry identifiers (txn_id, card_id, "
            "merchant_id), so they are granted only to a project") in " ".join(result.output.split())


def test_explain_says_rows_of_people_are_for_sealed_sessions(campus):
    rows = "  - {name: retail-rows, project: retail, dataset: card_usage, mode: rows, columns: all, purpose: Rows.}\n"
    write(campus / "policies" / "grants.yaml", GRANTS + rows)
    asked = ("explain", "--user", "alice", "--project", "retail", "--dataset", "card_usage", "--columns", "card_id",
             "--shape", "rows")
    unsealed, sealed = run(*asked), run(*asked, "--sealed")
    assert "DENY for alice" in unsealed.output and "CAMPUS_HUB_SPAWNER=sandbox" in " ".join(unsealed.output.split())
    assert "ALLOW for alice (groups: researchers) by grant retail-rows" in sealed.output, sealed.output


def test_check_compiles_the_rego(campus):
    write(campus / "policies" / "campus" / "broken.rego", "package campus.broken\n\nallow if {\n")
    result = run("check")
    assert result.exit_code == 1
    assert "the Rego does not compile: campus/broken.rego:3:" in result.output


def test_check_notes_a_stale_schema(campus):
    write(campus / "policies" / "grants.schema.json", "{}")
    result = run("check")
    assert result.exit_code == 0
    assert "grants.schema.json is out of date; run `campus policy schema --write`" in result.output


def test_test_runs_the_rego_tests_and_the_expected_decisions(campus):
    write(campus / "policies" / "expected_decisions.yaml", """\
        now: 2026-11-23T06:00:00Z
        cases:
          - name: alice sees card usage by region
            request: {user: alice, dataset: card_usage, columns: [home_district]}
            expect: {allow: true, reason: allowed by grant researchers-cards, masks: {home_district: region}}
        """)
    result = run("test")
    assert result.exit_code == 0, result.output
    assert "pass  campus.decision_test.test_no_input_at_all_is_a_deny_never_undefined" in result.output
    assert "pass  alice sees card usage by region" in result.output
    assert "all 49 passed" in result.output


def test_test_fails_on_an_unexpected_decision(campus):
    write(campus / "policies" / "expected_decisions.yaml", """\
        now: 2026-11-23T06:00:00Z
        cases:
          - name: carol should see card usage
            request: {user: carol, dataset: card_usage, columns: [district]}
            expect: {allow: true, reason: allowed}
        """)
    result = run("test")
    assert result.exit_code == 1
    assert "FAIL  carol should see card usage  expected allow, got deny" in result.output
    assert "1 of 49 failed" in result.output


def test_explain_takes_groups_from_the_users_file(campus):
    result = run("explain", "--user", "alice", "--dataset", "card_usage", "--columns", "district,amount")
    assert result.exit_code == 0, result.output
    assert "ALLOW for alice (groups: researchers) by grant researchers-cards" in result.output
    assert "allowed by grant researchers-cards (group researchers): aggregates on card_usage" in result.output
    assert '{"home_district": "region"}' in result.output


def test_explain_an_unknown_user_has_no_groups(campus):
    result = run("explain", "--user", "mallory", "--dataset", "card_usage")
    assert "DENY for mallory (groups: none)" in result.output
    assert "no grant gives mallory access to card_usage; ask the steward sejin" in result.output


def test_explain_with_groups_and_shape_given(campus):
    result = run("explain", "--user", "mallory", "--groups", "researchers", "--dataset", "card_usage",
                 "--columns", "district", "--shape", "rows")
    assert "DENY for mallory (groups: researchers) by grant researchers-cards" in result.output
    assert "card_usage is available to you only as aggregates" in result.output


def test_explain_as_json(campus):
    result = run("explain", "--user", "alice", "--dataset", "card_usage", "--columns", "card_id", "--json")
    decision = json.loads(result.output)
    assert decision["allow"] is False
    assert decision["reasons"][0].startswith("column card_id is an identifier")


def test_explain_refuses_a_shape_that_does_not_exist(campus):
    result = run("explain", "--user", "alice", "--dataset", "card_usage", "--shape", "table")
    assert result.exit_code == 2
    assert "'table' is not one of: aggregates, rows" in result.output


def test_schema_prints_the_models_schema(campus):
    result = run("schema")
    assert result.exit_code == 0
    assert result.output == grants.json_schema()
