"""What the policy decides, as truth tables run against the real Rego (regopy).

Each row: a comment saying what the row shows, the request, and what must come back:
allow, a piece of the reasons, and the terms that matter for the row. The table is
asked as a sealed campus asks (rows of people are for sealed sessions only; the rows
after it show what an unsealed one answers).
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from test_policy_fixtures import NOW, USERS, ask, campus_root, policy_at

from campus.policy import PolicyPaths, expected, load_policy
from campus.settings import Settings

GRANTS = """\
grants:
  - name: researchers-cards
    groups: [researchers]
    dataset: card_usage
    columns: all
    masks: {home_district: region}
    purpose: Researchers study spending from aggregates.

  - name: analysts-cards-rows
    groups: [analysts]
    project: audit
    dataset: card_usage
    mode: rows
    columns: [district, amount, card_id]
    row_filter: {district: [Gangnam-gu, Seocho-gu]}
    purpose: The audit project's analysts check transactions in two districts.

  - name: audit-cards
    groups: [researchers]
    project: audit
    dataset: card_usage
    columns: all
    purpose: The audit project's researchers see aggregates.

  - name: dana-cards-rows
    users: [dana]
    project: audit
    dataset: card_usage
    mode: rows
    columns: [district, amount]
    export: never
    purpose: Dana validates the data.

  - name: erin-paused
    users: [erin]
    dataset: card_usage
    effect: deny
    purpose: Paused during an audit.

  - name: researchers-sales-ended
    groups: [researchers]
    dataset: sales_by_location
    columns: all
    valid_until: 2026-06-30
    purpose: A study that ended.

  - name: researchers-air-soon
    groups: [researchers]
    dataset: air_quality
    mode: rows
    columns: all
    valid_from: 2027-01-01
    purpose: Opens next year.

  - name: retail-sales
    project: retail
    dataset: sales_by_location
    columns: [month, district, sales_amount]
    row_filter: {district: [Gangnam-gu]}
    disclosure: {min_entities: 20, rounding_base: 10}
    purpose: The retail project studies Gangnam.

  - name: finished-sales
    project: finished
    dataset: sales_by_location
    columns: all
    purpose: A project that has ended.
"""

R = ["researchers"]
AUDIT = USERS + "  audit: {members: [carol, dana, frank], expires: 2027-06-30}\n"  # rows of people need a project


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return policy_at(campus_root(tmp_path_factory.mktemp("campus"), GRANTS, AUDIT))


DECISIONS = [
        # comment, user, groups, project, dataset, columns, shape, action, allow, reason, terms
        # -- no grant, or no grant in force ---------------------------------------------
        ("no grant names carol for sales", "carol", ["analysts"], None, "sales_by_location", ["district"],
         "aggregates", "query", False, "no grant gives carol access to sales_by_location; ask the steward sejin", {}),
        ("an expired grant says when it ended", "alice", R, None, "sales_by_location", ["district"],
         "aggregates", "query", False,
         "grant researchers-sales-ended (group researchers) expired on 2026-06-30; ask the steward sejin", {}),
        ("a grant not yet valid says when it starts", "alice", R, None, "air_quality", ["pm10"],
         "rows", "query", False, "grant researchers-air-soon (group researchers) applies only from 2027-01-01", {}),
        # -- a group grant, and its terms ----------------------------------------------
        ("a group grant allows aggregates", "alice", R, None, "card_usage", ["district", "amount"],
         "aggregates", "query", True,
         "allowed by grant researchers-cards (group researchers): aggregates on card_usage",
         {"grant": "researchers-cards", "mode": "aggregates", "export": "review", "row_cap": 10000}),
        ("a masked column may be read; the mask is a term", "alice", R, None, "card_usage", ["home_district"],
         "aggregates", "query", True, "allowed by grant researchers-cards", {"masks": {"home_district": "region"}}),
        ("identifiers are never visible in aggregates, even with columns: all", "alice", R, None, "card_usage",
         ["district"], "aggregates", "query", True, "allowed",
         {"columns": ["txn_time", "txn_date", "hour", "district", "dong", "category", "amount", "age_band",
                      "gender", "home_district"]}),
        ("reading an identifier in aggregates mode is refused, with dimensions to use instead", "alice", R, None,
         "card_usage", ["card_id", "amount"], "aggregates", "query", False,
         "column card_id is an identifier; group by one of its dimensions instead: hour, district, dong, category", {}),
        ("rows on an aggregates grant are refused", "alice", R, None, "card_usage", ["district"], "rows", "query",
         False, "card_usage is available to you only as aggregates: add GROUP BY and aggregate functions", {}),
        ("a rows grant shows the identifiers it names, filtered", "carol", ["analysts"], "audit", "card_usage",
         ["card_id", "amount"], "rows", "query", True, "allowed by grant analysts-cards-rows (project audit)",
         {"mode": "rows", "columns": ["card_id", "district", "amount"],
          "row_filter": {"district": ["Gangnam-gu", "Seocho-gu"]}}),
        ("a project's rows grant does not apply outside the project", "carol", ["analysts"], None, "card_usage",
         ["amount"], "rows", "query", False, "no grant gives carol access to card_usage", {}),
        # -- two grants combine ---------------------------------------------------------
        ("a user grant beats the project and group grants", "dana", R, "audit", "card_usage", ["district", "amount"],
         "rows", "query", True, "allowed by grant dana-cards-rows (user dana): rows on card_usage", {"mode": "rows"}),
        ("a column the deciding grant does not show is named", "dana", R, "audit", "card_usage", ["category"], "rows",
         "query", False, "column category of card_usage is not granted to you (grant dana-cards-rows shows "
         "district, amount); ask the steward sejin", {"grant": "dana-cards-rows"}),
        ("deny beats allow", "erin", R, None, "card_usage", ["district"], "aggregates", "query", False,
         "denied by grant erin-paused (user erin): Paused during an audit; ask the steward sejin",
         {"grant": "erin-paused"}),
        ("a tie at project level goes to aggregates, so frank's rows are refused", "frank",
         ["researchers", "analysts"], "audit", "card_usage", ["district"], "rows", "query", False,
         "available to you only as aggregates", {"grant": "audit-cards"}),
        # -- projects -------------------------------------------------------------------
        ("a member in a running project gets the project grant", "alice", R, "retail", "sales_by_location",
         ["district", "sales_amount"], "aggregates", "query", True,
         "allowed by grant retail-sales (project retail)",
         {"row_filter": {"district": ["Gangnam-gu"]}, "columns": ["month", "district", "sales_amount"]}),
        ("a non-member cannot work in the project", "bob", R, "retail", "sales_by_location", ["district"],
         "aggregates", "query", False,
         "bob is not a member of project retail; ask an admin to add you, or work outside the project", {}),
        ("an expired project is refused with its date", "alice", R, "finished", "sales_by_location", ["district"],
         "aggregates", "query", False, "project finished expired on 2026-01-31", {}),
        ("a project grant does not apply outside its project", "alice", R, None, "sales_by_location",
         ["district"], "aggregates", "query", False, "expired on 2026-06-30", {}),
        ("an unknown project is refused", "alice", R, "moon", "card_usage", ["district"], "aggregates", "query",
         False, "there is no project moon", {}),
        # -- exports --------------------------------------------------------------------
        ("export: never refuses exports", "dana", R, "audit", "card_usage", ["district"], "rows", "export", False,
         "grant dana-cards-rows does not allow exports from card_usage", {}),
        ("export: review says a steward reviews it", "alice", R, None, "card_usage", ["district"], "aggregates",
         "export", True, "the export waits for a steward's review", {"export": "review"}),
]


@pytest.mark.parametrize(
    "comment,user,groups,project,dataset,columns,shape,action,allow,reason,terms",
    DECISIONS, ids=[row[0] for row in DECISIONS],
)
def test_decisions(policy, comment, user, groups, project, dataset, columns, shape, action, allow, reason, terms):
    decision = ask(policy, user, groups, project, dataset, columns, shape, action, sealed=True)
    assert decision.allow is allow, decision.reason
    assert reason in decision.reason
    assert not decision.failed
    for name, value in terms.items():
        assert getattr(decision, name) == value, name


UNSEALED = "gives rows of card_usage, which carry identifiers, to sealed sessions only, and this campus does not run them"

SEALING = [
        # comment, user, groups, project, shape, sealed, allow, reason
        ("rows of people in a sealed session", "carol", ["analysts"], "audit", "rows", True, True,
         "allowed by grant analysts-cards-rows"),
        ("rows of people where sessions are not sealed", "carol", ["analysts"], "audit", "rows", False, False,
         "grant analysts-cards-rows " + UNSEALED + ": the campus admins must run sealed sessions "
         "(CAMPUS_HUB_SPAWNER=sandbox)"),
        ("an aggregate under a rows grant is refused too: the grant gives rows", "carol", ["analysts"], "audit",
         "aggregates", False, False, UNSEALED),
        ("aggregates under an aggregates grant need no seal", "alice", R, None, "aggregates", False, True,
         "allowed by grant researchers-cards"),
]


@pytest.mark.parametrize("comment,user,groups,project,shape,sealed,allow,reason", SEALING,
                         ids=[row[0] for row in SEALING])
def test_rows_of_people_are_for_sealed_sessions(policy, comment, user, groups, project, shape, sealed, allow, reason):
    decision = ask(policy, user, groups, project, "card_usage", ["amount"], shape, sealed=sealed)
    assert decision.allow is allow, decision.reason
    assert reason in decision.reason


def test_rows_without_identifiers_need_no_seal(tmp_path):
    grants = """\
    grants:
      - {name: air, groups: [researchers], dataset: air_quality, mode: rows, columns: all, purpose: Open data.}
    """
    decision = ask(policy_at(campus_root(tmp_path, grants)), "alice", R, None, "air_quality", ["pm10"], "rows")
    assert decision.allow, decision.reason


def test_thresholds_are_the_catalog_defaults_tightened_by_the_grant(policy):
    decision = ask(policy, "alice", R, "retail", "sales_by_location", ["sales_amount"])
    assert asdict(decision.disclosure) == {
        "min_entities": 20, "dominance_n": 2, "dominance_k": 0.9, "p_ratio": 0.1, "rounding_base": 10,
        "noise_at_least": 0.1, "noise_at_most": 0.15, "max_cells": 250_000,
    }


MALFORMED = [
        # comment, what the document has instead of a good value, reason
        ("an empty document", {}, "the request names no user; this is a bug in the caller, not in your query"),
        ("not an object at all", ["alice"], "the request names no user"),
        ("no user", None, "the request names no user"),
        ("a dataset that is not a string", {"dataset": 42}, "the request names no dataset"),
        ("columns that are not a list", {"columns": "district"},
         "the request's columns must be a list of column names"),
        ("columns that are not strings", {"columns": ["district", 7]}, "the request's columns must be a list"),
        ("an unknown dataset", {"dataset": "taxis"},
         "there is no dataset taxis; the catalog has: air_quality, card_usage, sales_by_location"),
        ("an unknown column", {"columns": ["fare"]}, "card_usage has no column fare; its columns are: txn_id"),
        ("a shape the gateway does not send", {"shape": "table"}, "the request's shape must be aggregates or rows"),
        ("an action the gateway does not send", {"action": "delete"}, "the request's action must be query or export"),
        ("no time", {"now": None}, "the request carries no time"),
        ("groups that are not a list", {"groups": "researchers"}, "the request's groups must be a list"),
        ("a project that is not a name", {"project": 7}, "the request's project must be a project name or null"),
]


@pytest.mark.parametrize("comment,document,reason", MALFORMED, ids=[row[0] for row in MALFORMED])
def test_a_malformed_request_is_denied_with_a_reason(policy, comment, document, reason):
    good = {"user": "alice", "groups": R, "project": None, "dataset": "card_usage", "columns": ["district"],
            "shape": "aggregates", "action": "query", "now": "2026-11-23T06:00:00Z"}
    if comment == "an empty document" or not isinstance(document, dict):
        pass
    elif comment == "no user":
        document = {k: v for k, v in good.items() if k != "user"}
    else:
        document = {**good, **document}
    decision = policy.decide_document(document)
    assert decision.allow is False
    assert reason in decision.reason
    assert not decision.failed


def test_strings_that_need_escaping_stay_strings(policy):
    decision = ask(policy, 'o"brien\\', R, None, "card_usage", ["district"])
    assert decision.allow  # a researcher, whatever the name
    decision = ask(policy, 'o"brien\\', [], None, "card_usage", ["district"])
    assert 'no grant gives o"brien\\ access to card_usage' in decision.reason


# -- the shipped policy, as its own table of expected decisions says --------------------

SHIPPED = expected.load(PolicyPaths.of(Settings()).expected_decisions())


@pytest.fixture(scope="module")
def shipped():
    return load_policy(Settings(policy_engine="rego"), interval=3600)


@pytest.mark.parametrize("case", SHIPPED.cases, ids=[c.name for c in SHIPPED.cases])
def test_the_shipped_policy_decides_as_its_table_says(shipped, case):
    table = expected.ExpectedDecisions(now=SHIPPED.now, cases=[case])
    [checked] = expected.check_all(shipped, table)
    assert checked.passed, f"{checked.problems}: {checked.decision.reason}"


def test_the_shipped_table_is_decided_at_a_fixed_moment():
    assert SHIPPED.now == NOW
