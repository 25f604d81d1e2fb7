"""Stewards' and admins' YAML: every mistake names file, line and field."""

from __future__ import annotations

import pytest
from test_policy_fixtures import USERS, campus_root, write

from campus import provisioning
from campus.errors import ConfigError
from campus.policy import PolicyPaths, files, grants
from campus.settings import PROJECT_ROOT, Settings

GOOD = """\
grants:
  - name: researchers-cards
    groups: [researchers]
    dataset: card_usage
    columns: [district, amount]
    purpose: Researchers study spending.
"""


def problems_with(tmp_path, grants_yaml: str) -> str:
    root = campus_root(tmp_path, grants_yaml)
    with pytest.raises(ConfigError) as raised:
        files.load(PolicyPaths.of(Settings(root=root)))
    return raised.value.reason.replace(str(root) + "/", "")


# comment, what replaces a line of GOOD (old -> new), the expected "file:line: field: message" start
BAD_GRANTS = [
    ("an unknown dataset", ("dataset: card_usage", "dataset: taxis"),
     "policies/grants.yaml:4: grants.0.dataset: there is no dataset 'taxis' in the catalog; it has: card_usage"),
    ("an unknown column", ("columns: [district, amount]", "columns: [district, fare]"),
     "policies/grants.yaml:5: grants.0.columns.1: card_usage has no column 'fare'; its columns are: txn_id"),
    ("a loosened threshold", ("    purpose:", "    disclosure: {min_entities: 5}\n    purpose:"),
     "policies/grants.yaml:6: grants.0.disclosure: on card_usage: min_entities 5 would loosen the dataset's 10; "
     "a grant may only tighten it (10 or higher)"),
    ("a loosened dominance share", ("    purpose:", "    disclosure:\n      dominance_k: 0.95\n    purpose:"),
     "policies/grants.yaml:6: grants.0.disclosure: on card_usage: dominance_k 0.95 would loosen the dataset's 0.9"),
    ("an unknown mask", ("    purpose:", "    masks: {district: blur}\n    purpose:"),
     "policies/grants.yaml:6: grants.0.masks.district: Input should be 'region' or 'hidden'"),
    ("a region mask on a column that is not a district", ("    purpose:", "    masks: {amount: region}\n    purpose:"),
     "policies/grants.yaml:6: grants.0.masks: the region mask coarsens district columns; amount is not one"),
    ("no purpose", ("    purpose: Researchers study spending.\n", ""),
     "policies/grants.yaml:2: grants.0.purpose: Field required"),
    ("a date that is not a date", ("    purpose:", "    valid_until: 30/06/2026\n    purpose:"),
     "policies/grants.yaml:6: grants.0.valid_until: Input should be a valid date"),
    ("dates in the wrong order",
     ("    purpose:", "    valid_from: 2027-01-01\n    valid_until: 2026-01-01\n    purpose:"),
     "policies/grants.yaml:2: grants.0: valid_from 2027-01-01 is after valid_until 2026-01-01"),
    ("a row filter on a measure", ("    purpose:", "    row_filter: {amount: [100]}\n    purpose:"),
     "policies/grants.yaml:6: grants.0.row_filter.amount: rows can be filtered only by dimension, quasi_identifier, "
     "time columns; amount is a measure"),
    ("a grant that names nobody", ("    groups: [researchers]\n", ""),
     "policies/grants.yaml:2: grants.0: a grant must name users, groups or a project"),
    ("an unknown project", ("    groups: [researchers]", "    project: moon"),
     "policies/grants.yaml:3: grants.0.project: there is no project 'moon' in hub/users.yaml"),
    ("a deny grant with allow terms", ("    purpose:", "    effect: deny\n    purpose:"),
     "policies/grants.yaml:2: grants.0: a deny grant takes the whole dataset away; remove columns"),
    ("an allow grant that shows no columns", ("    columns: [district, amount]\n", ""),
     "policies/grants.yaml:2: grants.0: an allow grant must say which columns it shows: a list, or all"),
    ("a mask on a column the grant does not show", ("    purpose:", "    masks: {home_district: region}\n    purpose:"),
     "policies/grants.yaml:2: grants.0: masks name columns the grant does not show: home_district"),
    ("a misspelt key", ("    purpose:", "    colums: all\n    purpose:"),
     "policies/grants.yaml:6: grants.0.colums: Extra inputs are not permitted"),
    ("a mode that does not exist", ("    purpose:", "    mode: everything\n    purpose:"),
     "policies/grants.yaml:6: grants.0.mode: Input should be 'aggregates' or 'rows'"),
    ("rows of people for a group", ("    purpose:", "    mode: rows\n    purpose:"),
     "policies/grants.yaml:2: grants.0: rows of card_usage carry identifiers (txn_id, card_id, merchant_id), so they "
     "are granted only to a project, whose members see them as the project's pseudonyms: add `project: <a project "
     "of hub/users.yaml>`, or grant mode: aggregates"),
    ("rows of people for a user, without an identifier shown",
     ("    groups: [researchers]\n", "    users: [alice]\n    mode: rows\n"),
     "policies/grants.yaml:2: grants.0: rows of card_usage carry identifiers"),
]

# What `rows` may be granted to (the whole grant, replacing GOOD).
ROWS_GRANTS = [
    # comment, grant, loads?
    ("rows of people for a project", "{name: r, project: retail, dataset: card_usage, mode: rows, columns: all}", True),
    ("rows of people for a project's group", "{name: r, project: retail, groups: [researchers], dataset: card_usage, "
     "mode: rows, columns: [district]}", True),
    ("rows of stores for a group", "{name: r, groups: [researchers], dataset: sales_by_location, mode: rows, "
     "columns: all}", False),
    ("rows of open data for a group", "{name: r, groups: [researchers], dataset: air_quality, mode: rows, columns: all}",
     True),
    ("aggregates of people for a group", "{name: r, groups: [researchers], dataset: card_usage, columns: all}", True),
    ("taking people's rows away from a group", "{name: r, groups: [researchers], dataset: card_usage, effect: deny}",
     True),
]


@pytest.mark.parametrize("comment,grant,loads", ROWS_GRANTS, ids=[row[0] for row in ROWS_GRANTS])
def test_rows_of_people_are_granted_to_projects_only(tmp_path, comment, grant, loads):
    yaml = "grants:\n  - " + grant.replace("}", ", purpose: Testing.}") + "\n"
    if loads:
        root = campus_root(tmp_path, yaml)
        assert [g.name for g in files.load(PolicyPaths.of(Settings(root=root))).grants] == ["r"]
    else:
        assert "so they are granted only to a project" in problems_with(tmp_path, yaml)


@pytest.mark.parametrize("comment,change,error", BAD_GRANTS, ids=[row[0] for row in BAD_GRANTS])
def test_a_bad_grant_names_file_line_and_field(tmp_path, comment, change, error):
    old, new = change
    assert old in GOOD
    assert problems_with(tmp_path, GOOD.replace(old, new)).startswith(error)


def test_a_region_mask_needs_the_columns_regions_in_the_catalog(tmp_path):
    root = campus_root(tmp_path, GOOD.replace("columns: [district, amount]", "columns: [district, home_district]\n"
                                              "    masks: {home_district: region}"))
    shipped = (root / "datasets" / "catalog.yaml").read_text()
    (root / "datasets" / "catalog.yaml").write_text(shipped.replace("domain: *districts, regions: *seoul}",
                                                                    "domain: *districts}"))
    with pytest.raises(ConfigError) as raised:
        files.load(PolicyPaths.of(Settings(root=root)))
    assert raised.value.reason.replace(str(root) + "/", "") == (
        "policies/grants.yaml:6: grants.0.masks: the region mask needs the regions of card_usage.home_district: "
        "declare them on the column in datasets/catalog.yaml (regions: {region: [district, ...]})")


def test_a_good_grant_loads(tmp_path):
    root = campus_root(tmp_path, GOOD)
    source = files.load(PolicyPaths.of(Settings(root=root)))
    assert [g.name for g in source.grants] == ["researchers-cards"]
    assert source.data["grants"][0]["mode"] == "aggregates"


def test_grant_names_are_unique_across_files(tmp_path):
    root = campus_root(tmp_path, GOOD)
    write(root / "policies" / "more.yaml", GOOD)
    with pytest.raises(ConfigError) as raised:
        files.load(PolicyPaths.of(Settings(root=root)))
    assert raised.value.reason.endswith(
        "policies/more.yaml:2: grants.0.name: grant name researchers-cards is already used in "
        f"{root}/policies/grants.yaml; names must be unique"
    )


def test_every_problem_of_every_file_is_listed(tmp_path):
    root = campus_root(tmp_path, GOOD.replace("card_usage", "taxis"))
    write(root / "policies" / "more.yaml", GOOD.replace("researchers-cards", "more").replace("district,", "fare,"))
    lines = problems_with(tmp_path, GOOD.replace("card_usage", "taxis")).splitlines()
    assert [line.split(":")[0] for line in lines] == ["policies/grants.yaml", "policies/more.yaml"]


def test_roles_are_given_once(tmp_path):
    roles = "roles:\n  export_reviewers: {groups: [stewards]}\n"
    root = campus_root(tmp_path, roles + GOOD)
    write(root / "policies" / "more.yaml", roles)
    with pytest.raises(ConfigError, match="roles are already given in"):
        files.load(PolicyPaths.of(Settings(root=root)))


def test_a_date_that_does_not_exist_names_the_file(tmp_path):
    # ruamel.yaml itself fails on 2026-13-01 without a line number (see campus/yamlfile.py)
    reason = problems_with(tmp_path, GOOD.replace("    purpose:", "    valid_until: 2026-13-01\n    purpose:"))
    assert reason.startswith("policies/grants.yaml: not valid YAML: month must be in 1..12")


def test_the_published_schema_is_the_models():
    assert (PROJECT_ROOT / "policies" / "grants.schema.json").read_text() == grants.json_schema()


def test_every_mask_is_described():
    assert set(grants.MASKS) == set(grants.Mask.__args__)


def test_the_shipped_policy_is_valid():
    source = files.load(PolicyPaths.of(Settings()))
    assert {g.dataset for g in source.grants} == {"card_usage", "sales_by_location", "air_quality"}
    assert source.roles.export_reviewers.groups == ["stewards"]
    assert source.roles.administrators.groups == ["admins"]


# -- hub/users.yaml ----------------------------------------------------------------------


def test_the_shipped_users_file_is_valid():
    users = provisioning.load(PROJECT_ROOT / "hub" / "users.yaml")
    assert users.groups_of("alice") == ["researchers"]
    assert users.groups_of("nobody") == []
    assert users.members_of("stewards") == ["sejin"]
    assert str(users.projects["gangnam-retail"].expires) == "2027-06-30"


BAD_USERS = [
    ("a member who is not a user", ("members: [alice]", "members: [alice, zoe]"),
     "users.yaml:9: projects: project retail lists members who are not users: zoe; add them under users"),
    ("a project without expiry", ("retail: {members: [alice], expires: 2027-06-30}", "retail: {members: [alice]}"),
     "users.yaml:10: projects.retail.expires: Field required"),
    ("a user name with capitals", ("  bob:", "  Bob:"), "users.yaml:3: users.Bob: 'Bob' is not a name"),
]


@pytest.mark.parametrize("comment,change,error", BAD_USERS, ids=[row[0] for row in BAD_USERS])
def test_a_bad_users_file_names_file_line_and_field(tmp_path, comment, change, error):
    old, new = change
    assert old in USERS
    path = write(tmp_path / "users.yaml", USERS.replace(old, new))
    with pytest.raises(ConfigError) as raised:
        provisioning.load(path)
    assert raised.value.reason.replace(str(tmp_path) + "/", "").startswith(error)


def test_the_policy_request_is_the_rego_input_as_its_metadata_describes_it():
    """PolicyRequest's fields are the input request.rego documents, in its order."""
    import re

    from campus.policy.decision import PolicyRequest

    rego = (PROJECT_ROOT / "policies" / "campus" / "request.rego").read_text()
    comment = " ".join(line.lstrip("#").strip() for line in rego.splitlines() if line.startswith("#"))
    described = comment.split("The input:", 1)[1].split(" package ", 1)[0]
    named = re.findall(r"(?:^|, )\s*(\w+) \(", described)
    assert named == list(PolicyRequest.model_fields)
    document = PolicyRequest(user="alice", dataset="card_usage").document()
    assert list(document) == named
