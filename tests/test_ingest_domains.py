"""A file is held to its entry's public domains, its dropped columns and its redacted text, on every load.

A column with a declared ``domain:`` takes only its public values: a file holding others
is refused whole, naming the column and how many values lie outside (never a value), and
the version in force stays as it was. Columns the entry lists under ``dropped:`` are read
past and never stored.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from test_ingest import HEADER as SHOP_HEADER, added, root, rows, run, write_csv  # noqa: F401 (root: a fixture)

from campus import catalog
from campus.errors import LoadRefused
from campus.ingest.load import check, domain_of, load
from campus.ingest.source import open_source
from campus.ingest.versions import Versions
from campus.settings import PROJECT_ROOT, Settings

KEY = b"k" * 32
SHIPPED = catalog.load(PROJECT_ROOT / "datasets" / "catalog.yaml")["card_usage"]
DISTRICTS = SHIPPED.columns["home_district"].domain  # the 25 gu of Seoul
ADDRESSES = ["서울특별시 강남구 테헤란로 123, 101동 202호", "서울 마포구 합정동 123-45", "서울특별시 강남구 테헤란로 123, 101동 202호"]
HEADER = ["card", "day", "home_district", "hour", "amount"]


def cards(**extra) -> catalog.Dataset:
    """Card payments by the cardholder's home district, whose 25 districts are public."""
    return catalog.Dataset(name="cards", title="Cards", description="-", steward="sejin", tier="sensitive",
                           source="cards", entity="card", **extra, columns={
                               "card": catalog.Column(type="VARCHAR", role="identifier", description="-"),
                               "day": catalog.Column(type="DATE", role="time", grain="day", description="-",
                                                     domain={"first": "2025-01-01", "last": "2025-12-31"}),
                               "home_district": SHIPPED.columns["home_district"],
                               "hour": SHIPPED.columns["hour"],
                               "amount": catalog.Column(type="BIGINT", role="measure", description="-")})


def body(month: int, n: int = 300) -> list[list[str]]:
    return [[f"C{i % 40:03d}", f"2025-{month:02d}-{1 + i % 28:02d}", DISTRICTS[i % 25], str(i % 24), str(1000 + i)]
            for i in range(n)]


def stored(dataset: catalog.Dataset, data: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in dataset.files(data))


def refused(dataset: catalog.Dataset, file: Path, data: Path, action: str = "append") -> str:
    with pytest.raises(LoadRefused) as e:
        load(dataset, [open_source(file)], data, KEY, action=action)
    return e.value.reason


# --- a declared domain holds on every load ------------------------------------------------------------


def test_an_append_of_street_addresses_in_a_district_column_is_refused_and_nothing_is_written(tmp_path):
    dataset, data = cards(), tmp_path / "data"
    load(dataset, [open_source(write_csv(tmp_path / "jan.csv", HEADER, body(1)))], data, KEY, action="add")
    before = stored(dataset, data)
    feb = body(2)
    for i, address in zip((5, 80, 299), ADDRESSES):
        feb[i][2] = address
    reason = refused(dataset, write_csv(tmp_path / "feb.csv", HEADER, feb), data)
    assert "column home_district: 3 values (2 distinct) outside its domain" in reason
    assert "widen the column's domain in the catalog" in reason and "Correct the file" in reason
    assert not any(part in reason for address in ADDRESSES for part in address.split())  # no value, nor a piece
    assert Versions(data / "cards").current().number == 1
    assert stored(dataset, data).equals(before)
    assert [p.name for p in (data / "cards").rglob("*.parquet")] == ["v1.parquet"]


def test_the_first_load_is_held_to_the_domain_too(tmp_path):
    jan = body(1)
    jan[7][2] = "Gangnam"  # not how the catalog spells it
    reason = refused(cards(), write_csv(tmp_path / "jan.csv", HEADER, jan), tmp_path / "data", action="add")
    assert "column home_district: 1 value (1 distinct)" in reason
    assert not (tmp_path / "data" / "cards").exists() or not list((tmp_path / "data" / "cards").rglob("*.parquet"))


# Each case: the column as declared, values as a file has them, and which lie outside its domain.
MOMENTS = [datetime.datetime(2025, 12, 31, 23, 59, 59), datetime.datetime(2026, 1, 1), datetime.datetime(2024, 12, 31, 23)]
DOMAINS = [
    ("hours 0-23", SHIPPED.columns["hour"], pa.array([0, 23, 24, -1, None], pa.int8()),
     [False, False, True, True, False]),
    ("a month column: the first of its first month is in", catalog.Column(
        type="DATE", role="time", grain="month", description="-", domain={"first": "2025-01-15", "last": "2025-12-31"}),
     pa.array([datetime.date(2025, 1, 1), datetime.date(2024, 12, 1), datetime.date(2026, 1, 1)]), [False, True, True]),
    ("moments: the whole last day is in", SHIPPED.columns["txn_time"], pa.array(MOMENTS, pa.timestamp("us")),
     [False, True, True]),
    ("listed text, exactly", SHIPPED.columns["gender"], pa.array(["F", "M", "f", "X", None]),
     [False, False, True, True, False]),
    ("listed whole numbers", catalog.Column(type="INTEGER", role="dimension", description="-", domain=[1, 2, 3]),
     pa.array([1, 3, 4], pa.int32()), [False, False, True]),
]


@pytest.mark.parametrize("what,column,values,outside", DOMAINS, ids=[d[0] for d in DOMAINS])
def test_which_values_lie_outside_a_domain(what, column, values, outside):
    assert domain_of("c", column).outside(values).to_pylist() == outside


def test_an_hour_outside_a_range_domain_is_refused(tmp_path):
    feb = body(2)
    feb[10][3] = "24"
    reason = refused(cards(), write_csv(tmp_path / "feb.csv", HEADER, feb), tmp_path / "data", action="add")
    assert "column hour: 1 value (1 distinct) outside its domain" in reason


def test_check_gives_the_domain_as_the_reason_the_file_is_refused_never_the_values(tmp_path):
    feb = body(2)
    for i in range(0, 300, 3):
        feb[i][2] = ADDRESSES[i % 2]
    report, = check(cards(), [open_source(write_csv(tmp_path / "feb.csv", HEADER, feb), lenient=True)])
    assert report.bad == [] and "column home_district: 100 values (2 distinct) outside its domain" in report.refused
    assert "강남구" not in report.summary() and "refused" in report.summary()


def test_a_domain_the_catalog_lists_in_another_type_says_to_correct_the_catalog(tmp_path):
    column = catalog.Column(type="INTEGER", role="dimension", description="-", domain=[1, "two"])
    with pytest.raises(LoadRefused, match="domain of column c lists, as its value 2, one that is not a whole number"):
        domain_of("c", column)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_load_succeeds_exactly_when_every_value_lies_in_the_domain(tmp_path_factory, data):
    listed = data.draw(st.booleans())
    if listed:
        domain = data.draw(st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=1, max_size=6, unique=True))
        values = st.sampled_from(domain) | st.text("abcxyz", min_size=1, max_size=3)
        column = catalog.Column(type="VARCHAR", role="dimension", description="-", domain=domain)
        inside = lambda v: v in domain  # noqa: E731
    else:
        first = data.draw(st.integers(-50, 50))
        last = data.draw(st.integers(first, 60))
        values = st.integers(-70, 70).map(str)
        column = catalog.Column(type="INTEGER", role="dimension", description="-",
                                domain=catalog.Range(first=first, last=last))
        inside = lambda v: first <= int(v) <= last  # noqa: E731
    kept = data.draw(st.lists(values | st.just(""), min_size=1, max_size=40))
    row = catalog.Column(type="BIGINT", role="measure", description="-")
    dataset = catalog.Dataset(name="d", title="D", description="-", steward="sejin", tier="open", source="d",
                              entity=None, columns={"row": row, "kept": column})
    folder = tmp_path_factory.mktemp("domains")
    file = open_source(write_csv(folder / "f.csv", ["row", "kept"], [[str(i), v] for i, v in enumerate(kept)]))
    outside = [v for v in kept if v and not inside(v)]
    try:
        load(dataset, [file], folder / "data", KEY, action="add")
        assert not outside
    except LoadRefused as e:
        assert outside, e.reason
        plural = "s" if len(outside) > 1 else ""
        assert f"column kept: {len(outside):,} value{plural} ({len(set(outside)):,} distinct) outside" in e.reason


# --- columns a steward drops --------------------------------------------------------------------------


def test_a_dropped_column_never_reaches_the_parquet_and_the_version_says_it_was_dropped(tmp_path):
    dataset, data = cards(dropped=["메모"]), tmp_path / "data"
    notes = [f"김민준 고객 요청: 010-{1000 + i:04d}-5678로 연락" for i in range(300)]
    file = write_csv(tmp_path / "jan.csv", [*HEADER, "메모"], [[*row, note] for row, note in zip(body(1), notes)])
    load(dataset, [open_source(file)], data, KEY, action="add")
    assert stored(dataset, data).column_names == list(dataset.columns)
    written = b"".join(p.read_bytes() for p in (data / "cards").rglob("*.parquet"))
    assert "메모".encode() not in written and "010-".encode() not in written and "김민준".encode() not in written
    assert Versions(data / "cards").current().sources[0]["dropped"] == ["메모"]


def test_a_steward_drops_a_column_in_the_catalog_and_the_versions_list_says_so(root, tmp_path):
    added(root, "shop_cards", write_csv(tmp_path / "jan.csv", SHOP_HEADER, rows(1)))
    memo = write_csv(tmp_path / "feb.csv", [*SHOP_HEADER, "메모"], [[*row, "김민준 고객 요청"] for row in rows(2)])
    assert "dropped:" in str(run("append", "shop_cards", "--from", str(memo)).exception)
    path = Settings().catalog_path
    path.write_text(path.read_text().replace("  shop_cards:\n", "  shop_cards:\n    dropped: [메모]\n"))
    appended = run("append", "shop_cards", "--from", str(memo))
    assert appended.exit_code == 0, (appended.output, appended.exception)
    assert "feb.csv (sha256 " in (listing := run("versions", "shop_cards").output) and "dropped 메모" in listing


def test_a_file_without_the_dropped_column_loads_and_records_none(tmp_path):
    dataset, data = cards(dropped=["메모"]), tmp_path / "data"
    load(dataset, [open_source(write_csv(tmp_path / "jan.csv", HEADER, body(1)))], data, KEY, action="add")
    assert "dropped" not in Versions(data / "cards").current().sources[0]


def test_a_column_the_entry_does_not_name_is_refused_pointing_to_dropped(tmp_path):
    file = write_csv(tmp_path / "jan.csv", [*HEADER, "메모"], [[*row, "-"] for row in body(1)])
    reason = refused(cards(), file, tmp_path / "data", action="add")
    assert "'메모', which the catalog's entry for cards does not name" in reason and "dropped:" in reason


# --- free text kept, personal data taken out ----------------------------------------------------------


def test_a_redacted_column_stores_no_phone_e_mail_or_resident_number_from_its_free_text(tmp_path):
    dataset, data = cards(), tmp_path / "data"
    dataset.columns["note"] = catalog.Column(type="VARCHAR", role="dimension", description="-", redact=True)
    said = ["배송 전 010-{0:04d}-5678로 연락 바람", "영수증은 shop{0}@naver.com 으로", "주민번호 900101-1234567 확인함",
            "문 앞에 두고 가세요"]
    notes = [said[i % 4].format(1000 + i) for i in range(300)]
    file = write_csv(tmp_path / "jan.csv", [*HEADER, "note"], [[*row, note] for row, note in zip(body(1), notes)])
    load(dataset, [open_source(file)], data, KEY, action="add")
    kept = stored(dataset, data).column("note").to_pylist()
    assert len(kept) == 300 and kept.count("문 앞에 두고 가세요") == 75  # text without personal data is kept as it was
    assert not any(re.search(r"\d{3,4}-\d{4}|@|\d{6}-\d{7}", text) for text in kept)
    assert all("⟨" in text for text in kept if text != "문 앞에 두고 가세요")
    assert "배송 전" in kept[0] and "연락 바람" in kept[0]  # the rest of the text stays


def test_the_same_notes_not_redacted_are_refused(tmp_path):
    dataset = cards()
    dataset.columns["note"] = catalog.Column(type="VARCHAR", role="dimension", description="-")
    file = write_csv(tmp_path / "jan.csv", [*HEADER, "note"],
                     [[*row, f"배송 전 010-{1000 + i:04d}-5678로 연락 바람"] for i, row in enumerate(body(1))])
    reason = refused(dataset, file, tmp_path / "data", action="add")
    assert "column note" in reason and "redact: true" in reason and "010-" not in reason
