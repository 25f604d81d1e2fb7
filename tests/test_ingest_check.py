"""Loading that tells the whole truth: `campus datasets add --check | --skip-bad-lines`,
`campus datasets remove`, and the steward a proposed entry names.

Every bad line of a file is found in one run, by number and kind, never by value; a column
of numbers or days that a few lines break is never silently made text; skipped lines are
kept in a report; a dataset a grant still names is not removed.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from test_ingest import HEADER, added, root, rows, run, stored, write_csv  # noqa: F401 (root: a fixture)

from campus import catalog
from campus.audit import AuditLog
from campus.errors import LoadRefused
from campus.ingest import convert
from campus.ingest.badlines import Kind, Report, leave_out
from campus.ingest.convert import EXPECTED
from campus.ingest.load import check, load
from campus.ingest.source import open_source
from campus.ingest.versions import Versions
from campus.settings import Settings

JUNK = st.text(alphabet="ZQX가나다", min_size=1, max_size=6)  # never a number or a day; no report word holds Z, Q, X
IMPOSSIBLE = st.sampled_from(["2025-02-30 10:00", "2025-04-31 08:15", "2025-13-01 09:00", "2025-01-05 25:00"])


def line_of(fields: list[str]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(fields)
    return text.getvalue()


def bad_line(kind: Kind, template: list[str], junk: str, impossible: str) -> bytes:
    """A line of `kind` made from a good row (`template`), its bad value `junk` or `impossible`."""
    if kind is Kind.FIELD_COUNT:
        return line_of(template[:-1]).encode()
    if kind is Kind.UNDECODABLE:
        return line_of(template).encode().replace("가맹점".encode(), b"\xff", 1)
    column, value = {Kind.IMPOSSIBLE_DAY: (3, impossible), Kind.NOT_A_DAY: (3, junk),
                     Kind.NOT_A_NUMBER: (4, junk)}[kind]
    return line_of(template[:column] + [value] + template[column + 1:]).encode()


KINDS = [Kind.FIELD_COUNT, Kind.UNDECODABLE, Kind.IMPOSSIBLE_DAY, Kind.NOT_A_DAY, Kind.NOT_A_NUMBER]


def messy(path: Path, good: list[list[str]], bad: dict[int, Kind], junk: str = "ZQX",
          impossible: str = "2025-02-30 10:00") -> Path:
    """A UTF-8 CSV of the `good` rows with a bad line of each kind at its place among the data lines
    (0-based: data line i is the file's line i + 2)."""
    template, good_rows = rows(3, n=1)[0], iter(good)
    body = [bad_line(bad[i], template, junk, impossible) if i in bad else line_of(next(good_rows)).encode()
            for i in range(len(good) + len(bad))]
    path.write_bytes(line_of(HEADER).encode() + b"".join(body))
    return path


CARDS = catalog.Dataset(
    name="cards", title="Cards", description="-", steward="sejin", tier="sensitive", source="cards",
    partitioned_by="month", entity="card_no", columns={
        "card_no": catalog.Column(type="VARCHAR", role="identifier", header="카드번호", description="-"),
        "merchant": catalog.Column(type="VARCHAR", role="dimension", header="가맹점", description="-"),
        "industry": catalog.Column(type="VARCHAR", role="dimension", header="업종", description="-"),
        "txn_time": catalog.Column(type="TIMESTAMP", role="time", grain="minute", header="거래일시", description="-"),
        "amount": catalog.Column(type="INTEGER", role="measure", header="금액", description="-"),
        "age_band": catalog.Column(type="VARCHAR", role="quasi_identifier", header="연령대", description="-"),
        "gender": catalog.Column(type="VARCHAR", role="quasi_identifier", header="성별", description="-"),
    })


# --- --check: every bad line, by number and kind, never its value ---------------------------------------


def test_check_lists_every_kind_of_bad_line_across_the_whole_file_with_its_number(root, tmp_path):
    bad = {3: Kind.FIELD_COUNT, 150: Kind.NOT_A_NUMBER, 151: Kind.FIELD_COUNT, 260: Kind.IMPOSSIBLE_DAY,
           300: Kind.UNDECODABLE, 397: Kind.NOT_A_DAY}
    file = messy(tmp_path / "cards.csv", rows(1, n=394), bad, junk="Kim Minjun")
    result = run("add", "shop_cards", "--from", str(file), "--check")
    assert result.exit_code == 1, (result.output, result.exception)
    out = result.output
    assert "394 good lines, 6 bad lines" in out
    assert "wrong field count: 2 " in out and "line 5, 153" in out  # both, in one run
    for kind, line in [(Kind.NOT_A_NUMBER, 152), (Kind.IMPOSSIBLE_DAY, 262), (Kind.UNDECODABLE, 302),
                       (Kind.NOT_A_DAY, 399)]:
        assert f"{kind.label}: 1 ({kind.meaning}): line {line}" in out
    assert "column amount: a value not of its type on 1 line: line 152" in out
    assert "column txn_time: a value not of its type on 2 lines: line 262, 399" in out
    assert "Column amount is BIGINT but for those lines" in out and "Column txn_time is TIMESTAMP" in out
    assert "Kim Minjun" not in out and "2025-02-30" not in out  # the values never show
    assert "personal names" not in out  # the bad amount is a line to fix, not the column's finding
    assert "Nothing is loaded" in out and not (Path(Settings().data) / "shop_cards").exists()
    assert "shop_cards" not in (root / "datasets" / "catalog.yaml").read_text()


def test_check_shows_the_first_twenty_of_each_kind_and_counts_them_all(root, tmp_path):
    bad = {i: Kind.FIELD_COUNT for i in range(5, 400, 10)}  # 40 lines, one in ten
    result = run("add", "shop_cards", "--from", str(messy(tmp_path / "cards.csv", rows(1, n=400), bad)), "--check")
    assert result.exit_code == 1
    assert "wrong field count: 40 " in result.output and "and 20 more (all in the report)" in result.output
    assert "line 7, 17, " in result.output and ", 197 and 20 more" in result.output


def test_a_clean_file_checks_clean_and_loads_nothing(root, tmp_path):
    result = run("add", "shop_cards", "--from", str(write_csv(tmp_path / "cards.csv", HEADER, rows(1))), "--check")
    assert result.exit_code == 0, result.output
    assert "No bad lines: 400 rows would load. Nothing is loaded yet." in result.output
    assert not (Path(Settings().data) / "shop_cards").exists()


def test_check_through_the_campus_command(root, tmp_path):
    file = messy(tmp_path / "cards.csv", rows(1, n=100), {10: Kind.IMPOSSIBLE_DAY})
    campus = Path(sys.executable).with_name("campus")
    done = subprocess.run([str(campus), "datasets", "add", "shop_cards", "--from", str(file), "--check"],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "250"})
    assert done.returncode == 1, done.stderr
    assert "impossible day: 1" in done.stdout and "line 12" in done.stdout


# --- a column typed but for a few lines: told, never silently text ---------------------------------------


def test_accept_refuses_a_column_of_numbers_a_few_lines_break_and_proposes_it_as_numbers(root, tmp_path):
    file = messy(tmp_path / "cards.csv", rows(1, n=400), {20: Kind.NOT_A_NUMBER}, junk="Kim Minjun")
    result = run("add", "shop_cards", "--from", str(file), "--accept", "--steward", "sejin")
    assert isinstance(result.exception, LoadRefused)
    assert "amount is BIGINT but for 1 value: those lines would not load" in result.exception.reason
    assert "--skip-bad-lines" in result.exception.reason and "--check" in result.exception.reason
    assert "amount: {type: INTEGER, role: measure" in result.output  # not VARCHAR
    assert "1 line is not of this type: fix it or load with --skip-bad-lines" in result.output
    assert "personal names" not in result.output
    assert "shop_cards" not in (root / "datasets" / "catalog.yaml").read_text()
    assert not (Path(Settings().data) / "shop_cards").exists()
    refused = AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=1)[0]
    assert (refused["action"], refused["outcome"]) == ("dataset_add", "refused")


def test_a_line_with_the_wrong_field_count_refuses_the_plain_load_and_points_to_check(root, tmp_path):
    file = messy(tmp_path / "cards.csv", rows(1, n=50), {7: Kind.FIELD_COUNT})
    result = run("add", "shop_cards", "--from", str(file), "--steward", "sejin")
    assert isinstance(result.exception, LoadRefused)
    assert "line 9 has 6 fields where the header names 7" in result.exception.reason
    assert "`--check` lists every bad line" in result.exception.reason


# --- --skip-bad-lines: the good rows load, the bad lines go to a report ----------------------------------


def test_skip_bad_lines_loads_the_good_rows_and_keeps_a_report_of_the_others(root, tmp_path):
    good = rows(1, n=300)
    bad = {0: Kind.UNDECODABLE, 99: Kind.NOT_A_NUMBER, 200: Kind.IMPOSSIBLE_DAY, 303: Kind.FIELD_COUNT}
    file = messy(tmp_path / "cards.csv", good, bad, junk="010-1234-5678")
    result = run("add", "shop_cards", "--from", str(file), "--accept", "--steward", "sejin", "--skip-bad-lines")
    assert result.exit_code == 0, (result.output, result.exception)
    dataset = catalog.load(root / "datasets" / "catalog.yaml")["shop_cards"]
    assert dataset.columns["amount"].type == "INTEGER" and dataset.columns["txn_time"].type == "TIMESTAMP"
    table = stored(dataset)
    assert table.num_rows == 300
    assert sorted(table.column("amount").to_pylist()) == sorted(int(r[4].replace(",", "")) for r in good)
    report = Path(Settings().data) / "shop_cards" / "bad-lines-v1.txt"
    assert "4 bad lines left out, not loaded" in result.output and str(report) in result.output.replace("\n", "")
    text = report.read_text()
    assert text.splitlines()[:5] == ["cards.csv: 300 good lines, 4 bad lines", "  wrong field count: 1",
                                     "  undecodable bytes: 1", "  impossible day: 1", "  not a number: 1"]
    assert "line 2: undecodable bytes" in text and "line 101: not a number: column amount should hold" in text
    assert "line 202: impossible day" in text and "line 305: wrong field count: 6 fields" in text
    assert "010-1234-5678" not in text and "2025-02-30" not in text
    assert Versions(Path(Settings().data) / "shop_cards").current().sources[0]["skipped"] == 4


def test_append_checks_against_the_catalog_and_skips_what_its_types_refuse(root, tmp_path):
    dataset = added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    feb = messy(tmp_path / "feb.csv", rows(2, n=100), {50: Kind.NOT_A_DAY})
    plain = run("append", "shop_cards", "--from", str(feb))
    assert isinstance(plain.exception, LoadRefused) and "feb.csv line 52: column txn_time" in plain.exception.reason
    checked = run("append", "shop_cards", "--from", str(feb), "--check")
    assert checked.exit_code == 1 and "not a day: 1" in checked.output and "line 52" in checked.output
    skipped = run("append", "shop_cards", "--from", str(feb), "--skip-bad-lines")
    assert skipped.exit_code == 0, (skipped.output, skipped.exception)
    assert stored(dataset).num_rows == 500
    assert "line 52: not a day" in (Path(Settings().data) / "shop_cards" / "bad-lines-v2.txt").read_text()


def test_check_tells_what_refuses_a_file_even_without_its_bad_lines(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    body = [r[:1] + ([f"010-5555-{i:04d}"] if i % 2 else r[1:2]) + r[2:] for i, r in enumerate(rows(2, n=60))]
    file = messy(tmp_path / "feb.csv", body, {30: Kind.IMPOSSIBLE_DAY})
    result = run("append", "shop_cards", "--from", str(file), "--check")
    assert result.exit_code == 1
    assert "impossible day: 1" in result.output and "line 32" in result.output
    assert "refused even without those lines: feb.csv holds values that identify people: column merchant: 30 of 60 " \
           "values look like phone numbers" in result.output.replace("\n", " ")
    assert "010-5555" not in result.output
    short = write_csv(tmp_path / "short.csv", HEADER[:-1], [r[:-1] for r in rows(2, n=5)])
    missing = run("append", "shop_cards", "--from", str(short), "--check")
    assert missing.exit_code == 1 and "refused: short.csv has no column gender" in missing.output


def test_check_names_the_rows_of_a_parquet_file(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    body = rows(2, n=40)
    body[25][4] = "ZQX"
    table = pa.table({name: [r[i] for r in body] for i, name in enumerate(HEADER)})
    pq.write_table(table, tmp_path / "feb.parquet")
    result = run("append", "shop_cards", "--from", str(tmp_path / "feb.parquet"), "--check")
    assert result.exit_code == 1
    assert "39 good rows, 1 bad row" in result.output and "not a number: 1" in result.output
    assert "column amount: a value not of its type on 1 row: row 26" in result.output and "ZQX" not in result.output


# --- the property: whatever the bad lines and wherever they are ------------------------------------------


@hypothesis_settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_check_reports_exactly_the_bad_lines_and_skipping_loads_exactly_the_good_rows(tmp_path_factory, data):
    good = rows(1, n=data.draw(st.integers(3, 60)), seed=data.draw(st.integers(0, 50)))
    kinds = data.draw(st.lists(st.sampled_from(KINDS), max_size=8))
    places = data.draw(st.lists(st.integers(0, len(good) + len(kinds) - 1), min_size=len(kinds),
                                max_size=len(kinds), unique=True))
    junk, impossible = data.draw(JUNK), data.draw(IMPOSSIBLE)
    folder = tmp_path_factory.mktemp("bad")
    file = messy(folder / "cards.csv", good, dict(zip(places, kinds)), junk, impossible)

    [report] = check(CARDS, [open_source(file, lenient=True)])
    assert report.lines() == sorted(p + 2 for p in places)
    assert {(b.line, b.kind) for b in report.bad} == {(p + 2, k) for p, k in zip(places, kinds)}
    assert report.rows == len(good) and report.refused is None
    assert junk not in report.full() + report.summary() and impossible not in report.full()

    version = load(CARDS, [open_source(file, lenient=True)], folder / "data", b"k" * 32, action="add",
                   skip_bad_lines=True)
    table = pa.concat_tables(pq.read_table(folder / "data" / "cards" / f) for f in version.files)
    assert sorted(zip(table.column("merchant").to_pylist(), table.column("amount").to_pylist())) == sorted(
        (r[1], int(r[4].replace(",", ""))) for r in good)
    assert version.sources[0]["skipped"] == len(places)


@hypothesis_settings(max_examples=60, deadline=None)
@given(values=st.lists(st.text(max_size=10), min_size=1, max_size=20),
       sql_type=st.sampled_from(["BIGINT", "INTEGER", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN"]))
def test_the_reason_for_a_bad_line_is_the_same_whatever_its_value(values, sql_type):
    report = Report("f.csv", "line")
    leave_out(report, {"c": ("c", sql_type)}, pa.record_batch([pa.array(values)], names=["c"]),
              pa.array(range(2, 2 + len(values))), [])
    assert {b.why for b in report.bad} <= {f"column c should hold {EXPECTED[sql_type]}"}
    alone = [i for i, value in enumerate(values) if convert.read(pa.array([value]), sql_type).bad is not None]
    assert [b.line - 2 for b in report.bad] == alone  # every value found at once, as it is found alone
    assert report.rows == len(values) - len(alone)


# --- datasets remove ----------------------------------------------------------------------------------


def test_remove_takes_out_the_entry_and_only_the_data_loads_wrote(root, tmp_path):
    before = (root / "datasets" / "catalog.yaml").read_text()
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    assert run("append", "shop_cards", "--from", str(write_csv(tmp_path / "feb.csv", HEADER, rows(2)))).exit_code == 0
    folder = Path(Settings().data) / "shop_cards"
    (folder / "notes.txt").write_text("the steward's own file")
    result = run("remove", "shop_cards", "--yes", "--by", "sejin")
    assert result.exit_code == 0, (result.output, result.exception)
    assert (root / "datasets" / "catalog.yaml").read_text() == before
    assert [p.name for p in folder.rglob("*")] == ["notes.txt"]
    event = AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=1)[0]
    assert (event["actor"], event["action"], event["outcome"]) == ("sejin", "dataset_remove", "done")
    assert event["detail"]["versions"] == [1, 2]


def test_remove_asks_first_and_no_leaves_everything(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    catalog_text = (root / "datasets" / "catalog.yaml").read_text()
    answer = run_with_input("n\n", "remove", "shop_cards")
    assert answer.exit_code == 1 and "delete its 1 loaded version(s)" in answer.output
    assert (root / "datasets" / "catalog.yaml").read_text() == catalog_text
    assert Versions(Path(Settings().data) / "shop_cards").exists()
    assert run_with_input("y\n", "remove", "shop_cards").exit_code == 0
    assert not (Path(Settings().data) / "shop_cards").exists()


def test_remove_is_refused_while_a_grant_names_the_dataset(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", HEADER, rows(1)))
    grants = root / "policies" / "grants.yaml"
    text = grants.read_text()
    at = text.index("\nterms:")
    grants.write_text(text[:at] + "\n  - name: shop-cards-study\n    groups: [researchers]\n    dataset: shop_cards\n"
                      "    mode: aggregates\n    columns: all\n    export: review\n    purpose: A study.\n" + text[at:])
    line = text[:at].count("\n") + 2
    result = run("remove", "shop_cards", "--yes")
    assert result.exit_code == 1
    assert f"{grants}:{line}: grant shop-cards-study" in result.output and "campus policy check" in result.output
    assert "shop_cards" in (root / "datasets" / "catalog.yaml").read_text()
    assert Versions(Path(Settings().data) / "shop_cards").exists()
    event = AuditLog(Settings().database, anchor=Settings().state_dir).events(limit=1)[0]
    assert (event["action"], event["outcome"]) == ("dataset_remove", "refused")


def test_remove_of_a_shipped_dataset_names_every_grant_terms_and_budget_to_change(root):
    result = run("remove", "sales_by_location", "--yes")
    assert result.exit_code == 1
    for entry in ["grant researchers-sales-by-location", "grant gangnam-retail-sales", "terms gangnam-association",
                  "budget gangnam-retail-sales-monthly"]:
        assert entry in result.output
    expected = root / "policies" / "expected_decisions.yaml"
    case = next(i for i, line in enumerate(expected.read_text().splitlines(), 1)
                if "dataset: sales_by_location" in line)
    assert f"{expected}:{case - 1}: case " in result.output  # `campus policy test` would ask for it
    assert "sales_by_location" in catalog.load(root / "datasets" / "catalog.yaml").datasets


def run_with_input(text: str, *args: str):
    from typer.testing import CliRunner

    from campus.cli.datasets import app

    return CliRunner().invoke(app, list(args), input=text)


# --- the steward, and the glossary --------------------------------------------------------------------


def test_a_proposal_names_a_real_steward_never_the_system_account(root, tmp_path, monkeypatch):
    source = str(write_csv(tmp_path / "cards.csv", HEADER, rows(1)))
    monkeypatch.delenv("CAMPUS_STEWARD", raising=False)
    unnamed = run("add", "shop_cards", "--from", source)
    assert unnamed.exit_code == 2 and "--steward NAME, or set CAMPUS_STEWARD" in unnamed.output
    for system in ("root", "nobody"):
        refused = run("add", "shop_cards", "--from", source, "--steward", system)
        assert refused.exit_code == 2 and "is a system account, not a steward" in refused.output
    monkeypatch.setenv("CAMPUS_STEWARD", "sejin")
    proposed = run("add", "shop_cards", "--from", source)
    assert proposed.exit_code == 0 and "+    steward: sejin" in proposed.output


def test_contact_and_remarks_are_proposed_as_identifiers(root, tmp_path):
    body = [r + ["010-0000-0000" if i % 2 else "", "단골" if i % 3 else ""] for i, r in enumerate(rows(1, n=100))]
    source = write_csv(tmp_path / "cards.csv", HEADER + ["연락처", "비고"], body)
    result = run("add", "shop_cards", "--from", str(source), "--steward", "sejin")
    assert 'contact: {type: VARCHAR, role: identifier, description: "From the file\'s column 연락처."' in result.output
    assert 'remarks: {type: VARCHAR, role: identifier, description: "From the file\'s column 비고."' in result.output
