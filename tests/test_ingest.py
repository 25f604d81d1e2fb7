"""Real data in: `campus datasets add | append | versions | rollback` on files the tests write.

Each messy real-world file is loaded or refused with a clear error; a refusal names the
file, column and line, never a value; identifiers are stored only as keyed hashes; a load
killed half way leaves the previous version whole.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from typer.testing import CliRunner

from campus import catalog
from campus.audit import AuditLog
from campus.campus import pseudonym_secret
from campus.cli.datasets import app
from campus.errors import LoadRefused
from campus.vocabulary.pseudonyms import DIGITS, intake_key
from campus.ingest import convert
from campus.ingest.load import load
from campus.ingest.profile import profile, role_of
from campus.ingest.source import open_source
from campus.ingest.versions import Versions
from campus.settings import PROJECT_ROOT, Settings

HEADER = ["카드번호", "가맹점", "업종", "거래일시", "금액", "연령대", "성별"]
CATEGORIES = ["음식점", "카페", "편의점", "약국"]


def rows(month: int, n: int = 400, cards: int = 60, seed: int = 0) -> list[list[str]]:
    """Card transactions of one month of 2025, as a Korean card company writes them."""
    import random

    rng = random.Random(seed * 100 + month)
    return [[f"C{rng.randrange(cards):06d}", f"가맹점{rng.randrange(30)}", rng.choice(CATEGORIES),
             f"2025-{month:02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}",
             f"{rng.randrange(1, 900) * 1000:,}", rng.choice(["20대", "30대", "40대"]), rng.choice("FM")]
            for _ in range(n)]


def write_csv(path: Path, header: list[str], body: list[list[str]], encoding: str = "utf-8",
              newline: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    writer.writerows(body)
    data = text.getvalue().encode(encoding)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A campus configuration of its own (the catalog is edited), with state and data beside it."""
    root = tmp_path / "root"
    for folder in ("datasets", "policies", "hub"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    monkeypatch.setenv("CAMPUS_ROOT", str(root))
    monkeypatch.setenv("CAMPUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CAMPUS_DATA_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return root


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def added(root: Path, name: str, *files: Path) -> catalog.Dataset:
    """`campus datasets add NAME --from ... --accept`: the dataset as the catalog now has it."""
    result = run("add", name, *[a for f in files for a in ("--from", str(f))], "--accept", "--steward", "sejin")
    assert result.exit_code == 0, (result.output, result.exception)
    return catalog.load(root / "datasets" / "catalog.yaml")[name]


def stored(dataset: catalog.Dataset) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in dataset.files(Settings().data))


def intake(value: str) -> str:
    key = intake_key(pseudonym_secret(Settings().state_dir))
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:DIGITS]


# --- add: profile, proposal, pseudonyms ------------------------------------------------------------


def test_add_profiles_a_cp949_file_and_proposes_an_entry_with_statistics_only(root, tmp_path):
    body = rows(1)
    source = write_csv(tmp_path / "cards-2025-01.csv", HEADER, body, encoding="cp949")
    result = run("add", "shop_cards", "--from", str(source), "--steward", "sejin")
    assert result.exit_code == 0, result.output
    assert "Nothing is loaded yet" in result.output
    assert not (Path(Settings().data) / "shop_cards").exists()
    diff = result.output[result.output.index("--- a/datasets/catalog.yaml"):result.output.index("Nothing is loaded")]
    entry = "\n".join(line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    assert "card_no: {type: VARCHAR, role: identifier" in entry and 'header: "카드번호"' in entry
    assert "entity: card_no" in entry and "tier: sensitive" in entry and "partitioned_by: month" in entry
    assert "txn_time: {type: TIMESTAMP, role: time" in entry and "grain: second" in entry
    assert "amount: {type: INTEGER, role: measure" in entry
    assert "gender: {type: VARCHAR, role: quasi_identifier" in entry and "domain: [F, M]" in entry
    assert "age_band: {type: VARCHAR, role: quasi_identifier" in entry
    # statistics, never a value (the public domains of small, widely shared columns aside)
    for card, merchant, *_ in body:
        assert card not in result.output and f"{merchant}," not in result.output
    assert "60 distinct" in result.output  # the cards


def test_the_proposal_is_a_diff_git_applies(root, tmp_path):
    source = write_csv(tmp_path / "cards.csv", HEADER, rows(1))
    result = run("add", "shop_cards", "--from", str(source), "--steward", "sejin")
    diff = result.output[result.output.index("--- a/"):result.output.index("Nothing is loaded")]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    applied = subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=root, capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert catalog.load(root / "datasets" / "catalog.yaml")["shop_cards"].entity == "card_no"


def test_add_with_accept_loads_every_identifier_as_its_keyed_hash(root, tmp_path):
    body = rows(1)
    dataset = added(root, "shop_cards", write_csv(tmp_path / "cards.csv", HEADER, body))
    table = stored(dataset)
    assert table.num_rows == len(body)
    cards = set(table.column("card_no").to_pylist())
    assert cards == {intake(card) for card, *_ in body}
    assert not cards & {card for card, *_ in body}
    assert table.column("amount").to_pylist()[:3] == [int(r[4].replace(",", "")) for r in body[:3]]
    location = Path(Settings().data) / "shop_cards"
    assert sorted(p.name for p in location.rglob("*") if p.is_file()) == [".versions.lock", "_versions.json",
                                                                         "v1.parquet"]
    for path in location.rglob("*.parquet"):  # not even in Parquet's statistics
        raw = pq.ParquetFile(path).metadata.to_dict()
        assert "C0000" not in json.dumps(raw, default=str)


def test_pseudonyms_link_across_monthly_files_and_the_key_is_not_in_the_repository(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    assert run("append", "shop_cards", "--from", str(write_csv(tmp_path / "feb.csv", HEADER, rows(2)))).exit_code == 0
    table = stored(dataset)
    jan = set(table.filter(pa.compute.equal(pa.compute.month(table["txn_time"]), 1))["card_no"].to_pylist())
    feb = set(table.filter(pa.compute.equal(pa.compute.month(table["txn_time"]), 2))["card_no"].to_pylist())
    assert len(jan & feb) > 30  # the same 60 cards, the same pseudonyms
    secret = Path(Settings().state_dir) / "pseudonym.secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600" and not secret.is_relative_to(root)


# --- direct identifiers block the load -------------------------------------------------------------

IDENTIFYING = {
    "phone numbers": ["010-1234-5678", "02-555-0199"],
    "e-mail addresses": ["kim@example.kr"],
    "resident registration numbers": ["900101-1234567"],
    "card numbers": ["4111 1111 1111 1111"],
}


@pytest.mark.parametrize("what", sorted(IDENTIFYING))
def test_a_column_with_identifying_values_blocks_the_load_naming_column_and_count(root, tmp_path, what):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    body = rows(2)
    values = IDENTIFYING[what]
    for i, value in enumerate(values * 3):
        body[i * 7][1] = value  # the merchant column, a dimension
    file = write_csv(tmp_path / "feb.csv", HEADER, body)
    with pytest.raises(LoadRefused) as refused:
        load(dataset, [open_source(file)], Settings().data, b"k" * 32, action="append")
    reason = refused.value.reason
    assert f"column merchant: {len(values) * 3} of 400 values look like {what}" in reason
    assert "declare such a column role: identifier" in reason.lower()
    assert not any(v in reason for v in values)
    assert Versions(Path(Settings().data) / "shop_cards").current().number == 1
    assert len(list((Path(Settings().data) / "shop_cards").rglob("*.parquet"))) == 1


def test_a_column_of_personal_names_blocks_the_load_unless_declared_an_identifier(root, tmp_path):
    names = ["김민준", "이서연", "박지후", "최수아", "정도윤"]
    header = ["고객", "업종", "금액"]
    body = [[names[i % 5] + "", CATEGORIES[i % 4], str(1000 * i)] for i in range(50)]
    file = write_csv(tmp_path / "names.csv", header, body)
    result = run("add", "customers", "--from", str(file), "--accept", "--steward", "sejin")
    assert result.exit_code == 0, result.output
    entry = catalog.load(root / "datasets" / "catalog.yaml")["customers"]
    assert entry.columns["column_1"].role == "identifier"  # proposed so, from the values' shape
    assert not set(stored(entry).column("column_1").to_pylist()) & set(names)
    undeclared = entry.model_copy(deep=True)
    undeclared.columns["column_1"] = undeclared.columns["column_1"].model_copy(update={"role": "dimension"})
    undeclared.entity = None
    undeclared.tier = "open"
    with pytest.raises(LoadRefused, match=r"column column_1: 50 of 50 values look like personal names"):
        load(undeclared, [open_source(file)], tmp_path / "elsewhere", b"k" * 32, action="add")
    romanised = write_csv(tmp_path / "romanised.csv", header, [[f"{['Kim', 'Lee', 'Park'][i % 3]} Min-jun",
                                                               CATEGORIES[i % 4], "1000"] for i in range(40)])
    with pytest.raises(LoadRefused, match=r"column column_1: 40 of 40 values look like personal names"):
        load(undeclared, [open_source(romanised)], tmp_path / "elsewhere", b"k" * 32, action="add")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=st.from_regex(r"[a-z][a-z0-9.]{0,10}", fullmatch=True), number=st.integers(10**7, 10**8 - 1),
       at=st.integers(0, 399))
def test_any_email_or_phone_anywhere_in_an_undeclared_column_blocks_the_load(tmp_path_factory, local, number, at):
    folder = tmp_path_factory.mktemp("scan")
    dataset = _two_column_dataset()
    for value in (f"{local}@campus.kr", f"010-{number // 10**4:04d}-{number % 10**4:04d}"):
        body = [[f"2025-01-{1 + i % 28:02d}", "plain"] for i in range(400)]
        body[at][1] = value
        file = write_csv(folder / "f.csv", ["day", "note"], body)
        with pytest.raises(LoadRefused) as refused:
            load(dataset, [open_source(file)], folder / "data", b"k" * 32, action="add")
        assert "column note: 1 of 400 values look like" in refused.value.reason and value not in refused.value.reason


def _two_column_dataset() -> catalog.Dataset:
    return catalog.Dataset(name="notes", title="Notes", description="-", steward="sejin", tier="open",
                           source="notes", entity=None, columns={
                               "day": catalog.Column(type="DATE", role="time", grain="day", description="-"),
                               "note": catalog.Column(type="VARCHAR", role="dimension", description="-")})


# --- append: checked against the catalog, atomically ------------------------------------------------


def test_a_wrong_value_is_refused_with_column_type_and_line_but_never_the_value(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    body = rows(2)
    body[3][1] = "가맹점\n(본점)"  # a quoted line break: row 5 starts on line 5, row 12 on line 13
    body[10][4] = "12만원"
    with pytest.raises(LoadRefused) as refused:
        load(dataset, [open_source(write_csv(tmp_path / "feb.csv", HEADER, body))], Settings().data, b"k" * 32,
             action="append")
    assert refused.value.reason.startswith("feb.csv line 13: column amount should hold a whole number")
    assert "12만원" not in refused.value.reason


@pytest.mark.parametrize("bad,expected", [
    ("2025-02-30 10:00", "a day and time"), ("02/03/2025 10:00", "a day and time"), ("2025-02-03 25:00", "a day")])
def test_days_that_do_not_exist_or_cannot_be_told_apart_are_refused(root, tmp_path, bad, expected):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    body = rows(2)
    body[0][3] = bad
    with pytest.raises(LoadRefused, match=f"line 2: column txn_time should hold {expected}"):
        load(dataset, [open_source(write_csv(tmp_path / "feb.csv", HEADER, body))], Settings().data, b"k" * 32,
             action="append")


def test_versions_list_loader_time_and_file_hash_and_the_audit_trail_records_them(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    feb = write_csv(tmp_path / "feb.csv", HEADER, rows(2))
    assert run("append", "shop_cards", "--from", str(feb), "--by", "sejin").exit_code == 0
    listing = run("versions", "shop_cards")
    assert listing.exit_code == 0
    assert "feb.csv (sha256 " + hashlib.sha256(feb.read_bytes()).hexdigest()[:12] in listing.output
    assert "version 2 of 2 (loaded by sejin at" in run("describe", "shop_cards").output
    history = Versions(Path(Settings().data) / "shop_cards").history()
    assert [(v.number, v.action, v.rows) for v in history] == [(1, "add", 400), (2, "append", 400)]
    events = AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=5)
    loaded = [e for e in events if e["action"] == "dataset_append"][0]
    assert loaded["actor"] == "sejin" and loaded["outcome"] == "done" and loaded["detail"]["version"] == 2
    assert loaded["detail"]["files"][0]["sha256"] == hashlib.sha256(feb.read_bytes()).hexdigest()


def test_rollback_returns_to_a_version_and_keeps_the_later_one(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    assert run("append", "shop_cards", "--from", str(write_csv(tmp_path / "feb.csv", HEADER, rows(2)))).exit_code == 0
    assert stored(dataset).num_rows == 800
    result = run("rollback", "shop_cards", "1")
    assert result.exit_code == 0 and "version 1 again" in result.output
    assert stored(dataset).num_rows == 400
    assert run("rollback", "shop_cards", "2").exit_code == 0
    assert stored(dataset).num_rows == 800
    missing = run("rollback", "shop_cards", "7")
    assert "has no version 7; its versions are: 1, 2" in str(missing.exception)
    actions = [e["action"] for e in AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=3)]
    assert actions.count("dataset_rollback") == 2


def test_add_and_append_each_refuse_the_other_s_job(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    again = open_source(write_csv(tmp_path / "feb.csv", HEADER, rows(2)))
    with pytest.raises(LoadRefused, match="already has data .version 1.; add a new period with `campus datasets"):
        load(dataset, [again], Settings().data, b"k" * 32, action="add")
    with pytest.raises(LoadRefused, match="has no data yet"):
        load(dataset, [again], tmp_path / "empty", b"k" * 32, action="append")


def test_a_load_killed_half_way_leaves_the_previous_version_whole(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    before = stored(dataset)
    big = write_csv(tmp_path / "feb.csv", HEADER, rows(2, n=600_000, cards=5000))
    location = Path(Settings().data) / "shop_cards"
    env = {**os.environ, "CAMPUS_ROOT": str(root)}
    loader = subprocess.Popen([sys.executable, "-c", "from campus.cli import main; main()", "datasets", "append",
                               "shop_cards", "--from", str(big)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (location / "month=2025-02" / "v2.parquet").exists():  # half way: its new file is being written
        assert loader.poll() is None and time.monotonic() < deadline, "the load ended before it could be killed"
        time.sleep(0.01)
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    assert Versions(location).current().number == 1
    after = pq.read_table(dataset.files(Settings().data)[0])
    assert after.equals(before) and dataset.files(Settings().data) == [location / "month=2025-01" / "v1.parquet"]
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM read_parquet({[str(f) for f in dataset.files(Settings().data)]})"
                       ).fetchone()[0] == 400
    # the next load sweeps what the killed one left, and succeeds
    small = write_csv(tmp_path / "feb-small.csv", HEADER, rows(2))
    assert run("append", "shop_cards", "--from", str(small)).exit_code == 0
    assert stored(dataset).num_rows == 800


GRANTS = """\
roles:
  export_reviewers: {groups: [stewards]}
  administrators: {groups: [admins]}
grants:
  - name: researchers-shop-cards
    groups: [researchers]
    dataset: shop_cards
    mode: aggregates
    columns: all
    export: review
    purpose: Researchers study spending at shops from checked aggregates.
"""


@pytest.fixture
def served(root, tmp_path):
    """shop_cards loaded and granted to researchers, the only dataset of a campus opened over it."""
    from campus.campus import Campus

    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1, n=3000, cards=400)))
    cat = root / "datasets" / "catalog.yaml"
    text = cat.read_text()
    cat.write_text("datasets:\n" + text[text.index("  shop_cards:"):])
    (root / "policies" / "grants.yaml").write_text(GRANTS)
    opened = Campus(Settings(policy_reload_interval=0))
    yield opened
    opened.close()


COUNT = "SELECT industry, count(*) AS n FROM shop_cards GROUP BY industry ORDER BY industry"


def test_a_loaded_dataset_is_queried_through_the_gateway_and_a_new_version_is_served_without_a_restart(
        served, tmp_path):
    alice = served.session("alice", ["researchers"])
    january = alice.sql(COUNT).arrow().to_pydict()
    assert january["industry"] == sorted(CATEGORIES) and 2500 < sum(january["n"]) < 3500  # rounded, checked
    with pytest.raises(Exception, match="identifier"):
        alice.sql("SELECT card_no, count(*) AS n FROM shop_cards GROUP BY card_no")
    result = run("append", "shop_cards", "--from", str(write_csv(tmp_path / "feb.csv", HEADER,
                                                                 rows(2, n=3000, cards=400))))
    assert result.exit_code == 0, result.output
    both = served.session("alice", ["researchers"]).sql(COUNT).arrow().to_pydict()
    assert 5500 < sum(both["n"]) < 6500
    assert run("rollback", "shop_cards", "1").exit_code == 0
    assert served.session("alice", ["researchers"]).sql(COUNT).arrow().to_pydict() == january


def test_a_dataset_new_to_the_catalog_is_served_without_a_restart_and_a_broken_catalog_changes_nothing(
        served, root, tmp_path):
    visits = [[f"S{i % 40:03d}", CATEGORIES[i % 4], f"2025-03-{1 + i % 28:02d}", str(i % 7)] for i in range(2000)]
    added(root, "shop_visits", write_csv(tmp_path / "visits.csv", ["store_id", "업종", "일자", "visitors"], visits))
    grants = root / "policies" / "grants.yaml"
    grants.write_text(grants.read_text() + GRANTS[GRANTS.index("  - name"):].replace("shop_cards", "shop_visits")
                      .replace("researchers-shop-cards", "researchers-shop-visits"))
    visits_by_industry = "SELECT industry, count(*) AS n FROM shop_visits GROUP BY industry ORDER BY industry"
    assert served.session("alice", ["researchers"]).sql(visits_by_industry).arrow()["industry"].to_pylist() == \
        sorted(CATEGORIES)
    catalog_file = root / "datasets" / "catalog.yaml"
    catalog_file.write_text(catalog_file.read_text() + "\n  broken: [\n")
    assert served.session("alice", ["researchers"]).sql(COUNT).arrow().num_rows == len(CATEGORIES)
    assert "shop_visits" in served.catalog.datasets


@pytest.mark.spark
def test_on_spark_a_loaded_dataset_answers_as_on_duckdb_and_its_new_version_is_served(served, tmp_path):
    from campus.campus import Campus
    from conftest import SPARK_TESTS

    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java: the Spark engine needs Java 17 (scripts/bootstrap installs it)")
    on_duckdb = served.session("alice", ["researchers"]).sql(COUNT).arrow()
    spark = Campus(Settings(policy_reload_interval=0, engine="spark", spark_master="local[2]", spark_conf=SPARK_TESTS,
                            state_dir=Settings().state_dir))
    try:
        assert spark.session("alice", ["researchers"]).sql(COUNT).arrow().equals(on_duckdb)
        assert run("append", "shop_cards", "--from", str(write_csv(tmp_path / "feb.csv", HEADER,
                                                                   rows(2, n=3000, cards=400)))).exit_code == 0
        both = spark.session("alice", ["researchers"]).sql(COUNT).arrow()
        assert both.equals(served.session("alice", ["researchers"]).sql(COUNT).arrow())
        assert sum(both["n"].to_pylist()) > 5500
    finally:
        spark.close()


QUESTIONS = [
    "SELECT industry, count(*) AS n FROM shop_cards GROUP BY industry",
    "SELECT industry, gender, count(*) AS n, sum(amount) AS total FROM shop_cards GROUP BY ALL",
    "SELECT count(*) AS cells FROM (SELECT industry, count(*) AS n FROM shop_cards GROUP BY industry)",
    "SELECT industry FROM shop_cards GROUP BY industry HAVING count(*) < 3",
    "SELECT industry, count(*) AS n FROM shop_cards GROUP BY industry ORDER BY n LIMIT 1",
]
LONE = [["C999999", "가맹점1", "서점", f"2025-01-{d:02d} 12:00", "15,000", "30대", "F"] for d in (3, 9, 17)]


def _answers(served) -> list:
    """Each question's table (rows in key order) or refusal, as alice gets it."""
    from campus.errors import CampusError

    session, seen = served.session("alice", ["researchers"]), []
    for sql in QUESTIONS:
        try:
            table = session.sql(sql).arrow()
            seen.append(table.sort_by([(c, "ascending") for c in table.column_names]))
        except CampusError as e:
            seen.append(e.reason)
    return seen


@pytest.fixture
def lone_card_appended(served, tmp_path):
    """The attack: alice asks the same questions before and after a steward appends one card's
    purchases in a category (서점) nobody bought in before, a cell the rules withhold. The category is
    public (the catalog's domain lists it) from the start: a file holding a value outside the domain is
    refused."""
    late = write_csv(tmp_path / "late.csv", HEADER, LONE)
    assert "column industry: 3 values (1 distinct) outside its domain" in str(run("append", "shop_cards", "--from",
                                                                                 str(late)).exception)
    widened("shop_cards", "industry", "서점")
    before = _answers(served)
    assert run("append", "shop_cards", "--from", str(late)).exit_code == 0
    return before, _answers(served)


def widened(name: str, column: str, value: str) -> None:
    """The catalog with `value` added to the domain of `name`'s `column`, as a steward edits it."""
    path = Settings().catalog_path
    entry = path.read_text().split(f"  {name}:", 1)
    line = re.search(rf"\n\s+{column}: {{.*domain: \[", entry[1])
    assert line is not None, f"{name}.{column} has no domain listed"
    entry[1] = entry[1][:line.end()] + value + ", " + entry[1][line.end():]
    path.write_text(f"  {name}:".join(entry))


def test_an_appended_withheld_cell_never_shows_and_changes_no_released_value(lone_card_appended):
    """Differencing two versions: the lone card's cell shows no value in any answer (its key is public), and
    every value released after the append is the value released before, or withheld: nothing subtracts to it."""
    before, after = lone_card_appended
    for sql, was, now in zip(QUESTIONS, before, after):
        shown = [r for r in (now.to_pylist() if isinstance(now, pa.Table) else []) if r.get("industry") == "서점"]
        assert all(v is None or isinstance(v, str) for r in shown for v in r.values()), f"{sql}: the lone card shows"
        assert isinstance(now, pa.Table) or "서점" not in now, f"{sql}: the lone card's category is named"
        if isinstance(was, pa.Table) and sql.startswith("SELECT industry,") and "LIMIT" not in sql:
            keys = [c for c in was.column_names if pa.types.is_string(was.schema.field(c).type)]
            old = {tuple(r[k] for k in keys): r for r in was.to_pylist()}
            for row in now.to_pylist():
                released = old[tuple(row[k] for k in keys)]
                assert all(v is None or v == released[c] for c, v in row.items()), f"{sql}: {row} vs {released}"


@pytest.mark.xfail(strict=True, reason="secondary suppression shows that a withheld cell appeared: a domain value "
                   "released before (편의점) is withheld after, so the tables, a count of their rows and the "
                   "smallest cell differ; the key and the value of the lone card's cell stay hidden (the test above)")
def test_an_appended_withheld_cell_leaves_every_answer_as_it_was(lone_card_appended):
    before, after = lone_card_appended
    assert after == before


def test_export_provenance_names_the_version_read(served):
    from campus.airlock.provenance import data_version

    version = Versions(Path(Settings().data) / "shop_cards").current()
    assert data_version(served, ["shop_cards"]) == {"shop_cards": f"version 1 (sha256 {version.digest()})"}


# --- messy files -----------------------------------------------------------------------------------


@pytest.fixture
def cards(root, tmp_path) -> catalog.Dataset:
    return added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))


def appended(dataset: catalog.Dataset, file: Path) -> int:
    return load(dataset, [open_source(file)], Settings().data, b"k" * 32, action="append").rows


def test_utf8_with_a_byte_order_mark_and_windows_line_ends(cards, tmp_path):
    file = write_csv(tmp_path / "bom.csv", HEADER, rows(2), encoding="utf-8-sig", newline="\r\n")
    assert file.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert appended(cards, file) == 400


def test_cp949_and_gzip(cards, tmp_path):
    assert appended(cards, write_csv(tmp_path / "feb.csv.gz", HEADER, rows(2), encoding="cp949")) == 400


def test_dates_in_several_formats_and_thousands_separators(cards, tmp_path):
    body = rows(2, n=5)
    body[0][3], body[1][3], body[2][3] = "2025/02/03 10:00", "2025.02.04. 11:30", "2025년 2월 5일 09:15:30"
    body[3][3], body[4][3] = "20250206 08:00", "2025-02-07T23:59:59.5"
    body[0][4] = "1,234,000"
    appended(cards, write_csv(tmp_path / "feb.csv", HEADER, body))
    table = stored(cards)
    feb = table.slice(400).to_pydict()
    assert [str(t) for t in feb["txn_time"]] == ["2025-02-03 10:00:00", "2025-02-04 11:30:00", "2025-02-05 09:15:30",
                                                 "2025-02-06 08:00:00", "2025-02-07 23:59:59.500000"]
    assert feb["amount"][0] == 1_234_000


@pytest.mark.parametrize("name,separator", [("feb.csv", ";"), ("feb.tsv", "\t"), ("feb.csv", "|")])
def test_semicolons_tabs_and_bars_separate_as_well_as_commas(cards, tmp_path, name, separator):
    text = io.StringIO()
    csv.writer(text, delimiter=separator).writerows([HEADER, *rows(2)])
    (tmp_path / name).write_text(text.getvalue())
    assert appended(cards, tmp_path / name) == 400


def test_parquet_files_load_too(cards, tmp_path):
    body = rows(2)
    file = tmp_path / "feb.parquet"
    pq.write_table(pa.table({h: [r[i] for r in body] for i, h in enumerate(HEADER)}), file)
    assert appended(cards, file) == 400


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b""), "is empty (0 bytes): nothing to load"),
    (lambda p: p.write_text(",".join(HEADER) + "\n"), "has a header but no rows: nothing to load"),
    (lambda p: write_csv(p, HEADER + ["비고"], [r + ["x"] for r in rows(2)]),
     "has the column '비고', which the catalog's entry for shop_cards does not name"),
    (lambda p: write_csv(p, HEADER[:-1], [r[:-1] for r in rows(2)]),
     "has no column gender ('성별' in the file), which the catalog's entry for shop_cards names"),
    (lambda p: p.write_text(write_csv(p, HEADER, rows(2, n=2)).read_text() + "C1,가맹점,카페\n"),
     "line 4 has 3 fields where the header names 7"),
    (lambda p: p.write_text(",".join(HEADER) + '\nC1,"가맹점 is cut off\n'),
     "has a quoted value that never closes"),
    (lambda p: p.write_bytes((",".join(HEADER) + "\n").encode() + b"\xff\xfe\xfa\n"),
     "cannot be read as text in utf-8 (line 2), cp949 (line 1)"),  # the UTF-8 header is no CP949
    (lambda p: pq.write_table(pa.table({"a": [1]}), p), "is a Parquet file named like a CSV"),
    (lambda p: p.write_text("\n\n"), "has no header line"),
    (lambda p: write_csv(p, HEADER[:6] + ["010-9876-5432"], rows(2)),
     "the name of column 7 looks like someone"),
    (lambda p: p.write_text(write_csv(p, HEADER, rows(2, n=2)).read_text() + f'C1,"{"x" * 200_000}",카페,'
                            '2025-02-01 10:00,1000,20대,F\nC2,b,카페,2025-02-01 10:00,1000원,20대,F\n'),
     "line 5: column amount should hold a whole number"),  # after a value longer than Python's CSV limit
])
def test_broken_files_are_refused_with_what_to_do(cards, tmp_path, make, message):
    file = tmp_path / "feb.csv"
    make(file)
    with pytest.raises(LoadRefused, match=re.escape(message)):
        appended(cards, file)
    assert Versions(Path(Settings().data) / "shop_cards").current().number == 1


def test_a_folder_holding_other_parquet_is_never_loaded_into(root, tmp_path):
    demo = Path(Settings().data) / "card_usage" / "month=2025-01" / "part-0.parquet"
    demo.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), demo)
    dataset = catalog.load(root / "datasets" / "catalog.yaml")["card_usage"]
    with pytest.raises(LoadRefused, match=re.escape("holds Parquet files not loaded by `campus datasets add` "
                                                    "(month=2025-01/part-0.parquet, perhaps the demo data)")):
        load(dataset, [open_source(write_csv(tmp_path / "x.csv", ["a"], [["1"]]))], Settings().data, b"k" * 32,
             action="add")
    assert demo.exists()


def test_two_loads_at_once_the_second_is_refused(cards, tmp_path):
    with Versions(Path(Settings().data) / "shop_cards").lock():
        with pytest.raises(LoadRefused, match="another load is writing shop_cards now; wait for it to finish"):
            appended(cards, write_csv(tmp_path / "feb.csv", HEADER, rows(2)))


@pytest.mark.parametrize("name,make,message", [
    ("feb.xlsx", lambda p: p.write_bytes(b"PK\x03\x04"), "the campus loads .csv, .csv.gz, .tsv and .parquet files"),
    ("feb.parquet", lambda p: pq.write_table(pa.table({"카드번호": [[1, 2]]}), p),
     "column '카드번호' holds lists, structures or bytes"),
    ("feb.parquet", lambda p: p.write_bytes(b"PAR1 but no more"), "is a damaged Parquet file"),
])
def test_files_of_other_kinds_are_refused_with_what_to_do(cards, tmp_path, name, make, message):
    make(tmp_path / name)
    with pytest.raises(LoadRefused, match=re.escape(message)):
        appended(cards, tmp_path / name)


def test_a_refused_load_through_the_command_line_is_recorded(cards, tmp_path):
    file = tmp_path / "feb.csv"
    file.write_bytes(b"")
    result = run("append", "shop_cards", "--from", str(file))
    assert isinstance(result.exception, LoadRefused)
    last = AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=1)[0]
    assert (last["action"], last["outcome"]) == ("dataset_append", "refused") and "empty" in last["detail"]["reason"]


# --- reading values, whatever they are ---------------------------------------------------------------


@given(st.integers(-(10**18) + 1, 10**18 - 1))
def test_whole_numbers_with_or_without_thousands_separators_read_back(n):
    grouped = f"{n:,}"
    assert convert.read(pa.array([grouped, str(n), f" {n} "]), "BIGINT").values.to_pylist() == [n, n, n]


@given(st.dates(), st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m:02d}.{d:02d}.", "{y}{m:02d}{d:02d}",
                                    "{y}년 {m}월 {d}일"]))
def test_days_in_every_accepted_spelling_read_back(day, spelling):
    if day.year < 1000:
        return
    text = spelling.format(y=day.year, m=day.month, d=day.day)
    assert convert.read(pa.array([text]), "DATE").values.to_pylist() == [day]


def test_every_fraction_of_a_second_reads_to_its_exact_microsecond():
    fractions = [f"{i:06d}".rstrip("0") or "0" for i in range(1_000_000)]
    moments = convert.read(pa.array([f"2025/01/05 10:00:00.{f}" for f in fractions]), "TIMESTAMP").values
    assert [m.microsecond for m in moments.to_pylist()] == list(range(1_000_000))


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda s: s.strip() not in convert.MISSING))
def test_the_reason_for_a_refused_value_is_the_same_whatever_the_value(tmp_path_factory, value):
    """A refusal cannot tell a value: its words are the same for any bad value at that place."""
    if convert.read(pa.array([value]), "BIGINT").first_bad is None:
        return
    dataset = _two_column_dataset().model_copy(update={"columns": {
        "day": catalog.Column(type="DATE", role="time", grain="day", description="-"),
        "n": catalog.Column(type="BIGINT", role="measure", description="-")}})
    reasons = []
    for bad in (value, "x"):
        folder = tmp_path_factory.mktemp("bad")
        file = write_csv(folder / "f.csv", ["day", "n"], [["2025-01-01", "1"], ["2025-01-02", bad]],
                         quoting=csv.QUOTE_ALL)  # a bare carriage return ends a line unless quoted
        with pytest.raises(LoadRefused) as refused:
            load(dataset, [open_source(file)], folder / "data", b"k" * 32, action="add")
        reasons.append(refused.value.reason)
    assert reasons[0] == reasons[1]


def test_roles_fail_towards_caution():
    from campus.identifiers import Findings
    from campus.ingest.profile import ColumnProfile

    unique_text = ColumnProfile("ref", "ref", rows=100, distinct=100, failed={})
    assert role_of(unique_text, 100, Findings()) == "identifier"
    named_id = ColumnProfile("store_id", "store_id", rows=1000, distinct=80, failed={"BIGINT": 0})
    assert role_of(named_id, 1000, Findings()) == "identifier"
    small = ColumnProfile("district", "district", rows=1000, distinct=25, failed={})
    assert role_of(small, 1000, Findings()) == "dimension"
    phones = Findings()
    phones.add("district", pl.Series("district", ["010-1234-5678"] + ["Mapo-gu"] * 99), text=True)
    assert role_of(small, 1000, phones) == "identifier"  # one phone number is enough
    assert profile  # the whole profile runs in the tests above


# --- the principle: whatever a table holds, written as real files write it, it loads back as it was ----

SPELLINGS = ["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m:02d}.{d:02d}.", "{y}{m:02d}{d:02d}", "{y}년 {m}월 {d}일"]
TEXT = st.text(alphabet=list("abcXYZ댜뷁쀍 ,;'-\"\n0123456789"), max_size=8)  # short, and of no syllable that ends
# a place or marks a plate: no phone number, address or plate fits
ROUND_TRIP = catalog.Dataset(
    name="anything", title="Anything", description="-", steward="sejin", tier="restricted", source="anything",
    partitioned_by="month", entity="who", columns={
        "row": catalog.Column(type="BIGINT", role="dimension", description="-"),
        "who": catalog.Column(type="VARCHAR", role="identifier", description="-"),
        "day": catalog.Column(type="DATE", role="time", grain="day", description="-", header="일자"),
        "label": catalog.Column(type="VARCHAR", role="dimension", description="-"),
        "amount": catalog.Column(type="BIGINT", role="measure", description="-"),
        "share": catalog.Column(type="DOUBLE", role="measure", description="-"),
    })


@hypothesis_settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_table_written_as_real_files_write_it_loads_back_as_it_was(tmp_path_factory, data):
    n = data.draw(st.integers(1, 12))
    column = lambda values: data.draw(st.lists(values, min_size=n, max_size=n))  # noqa: E731
    who, labels = column(TEXT), column(TEXT)
    days = column(st.none() | st.dates(datetime.date(1000, 1, 1), datetime.date(9999, 12, 31)))
    amounts = column(st.none() | st.integers(-10**15, 10**15))
    shares = column(st.none() | st.floats(allow_nan=False, allow_infinity=False))
    spelled = [None if d is None else data.draw(st.sampled_from(SPELLINGS)).format(y=d.year, m=d.month, d=d.day)
               for d in days]
    grouped = [None if a is None else data.draw(st.sampled_from([f"{a:,}", str(a), f" {a} "])) for a in amounts]
    body = [[str(i), w, s or "", t, g or "", "" if f is None else repr(f)]
            for i, (w, s, t, g, f) in enumerate(zip(who, spelled, labels, grouped, shares))]
    text = "".join(who + labels)
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig"] + (["cp949"] if _encodes(text, "cp949") else [])))
    name = data.draw(st.sampled_from(["f.csv", "f.csv.gz"]))
    folder = tmp_path_factory.mktemp("round-trip")
    file = write_csv(folder / name, ["row", "who", "일자", "label", "amount", "share"], body, encoding=encoding,
                     newline=data.draw(st.sampled_from(["\n", "\r\n"])))
    key = b"k" * 32
    load(ROUND_TRIP, [open_source(file)], folder / "data", key, action="add")
    back = pa.concat_tables(pq.read_table(f) for f in ROUND_TRIP.files(folder / "data")).sort_by("row").to_pydict()
    expect = lambda v: v.strip() or None  # noqa: E731  spaces around a value dropped, an empty value missing
    assert back["row"] == list(range(n))
    assert back["who"] == [None if expect(w) is None else hmac.new(key, expect(w).encode(), hashlib.sha256)
                           .hexdigest()[:DIGITS] for w in who]
    assert back["day"] == days and back["amount"] == amounts and back["share"] == shares
    assert back["label"] == [expect(t) for t in labels]


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def test_a_small_file_without_an_identifier_is_proposed_without_a_domain_and_loads(root, tmp_path):
    """No crash on a column of few values without an entity to count, and no values written into the
    catalog: rows sharing a value say nothing of how many people it would name."""
    names = ["Kim Minjun", "Lee Seoyeon", "Park Jiho"]  # staff names, each on many rows
    file = write_csv(tmp_path / "till.csv", ["store", "clerk", "amount"],
                     [[f"S{i % 2}", names[i % 3], str(1000 + i)] for i in range(300)])
    proposed = run("add", "till", "--from", str(file), "--steward", "sejin")
    assert proposed.exit_code == 0, (proposed.output, proposed.exception)
    assert "domain" not in proposed.output and not any(n in proposed.output for n in names)
    assert run("add", "till", "--from", str(file), "--steward", "sejin", "--accept").exit_code == 0
    assert not any(n in (root / "datasets" / "catalog.yaml").read_text() for n in names)
