"""The airlock's automatic checks of files (campus/airlock/checks.py, table_rules.py).

The rules as tables of cases, properties over generated files (Hypothesis), and files
through the real airlock over the demo campus: refused at submission, or stored with
their report for the reviewer. The review page and the notebook client have their own
tests in test_airlock_web.py and test_client.py.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
import io
import itertools
import json
import re
import zlib

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus.audit import AuditLog
from campus.airlock import Airlock, CampusUser, InvalidExport, SqlExportStore, Status
from campus.airlock.airlock import Seen
from campus.airlock.checks import (
    CONTROL,
    FILE_KINDS,
    OutputRules,
    check_content,
    check_file,
    kind_of,
    read_table,
    rules_for,
    written_anew,
)
from campus.airlock.rewrite import image_bytes, neutralised, text_bytes
from campus.airlock.table_rules import role_of
from campus.vocabulary.pseudonyms import project_key, pseudonym
from campus.settings import AirlockSettings
from export_files import aggregate, chunk, jpeg, png, with_hidden
from PIL import Image

ALICE = CampusUser("alice", ("researchers",))
SEJIN = CampusUser("sejin", ("stewards",))
NOBODY = CampusUser("nobody", ())

# What alice's files are held to (asserted against the real policy below).
RULES = OutputRules(
    min_entities=20, rounding_base=5, datasets=("card_usage", "sales_by_location"),
    identifiers=frozenset({"txnid", "cardid", "merchantid", "storeid"}),
    catalog_roles={"district": "dimension", "dong": "dimension", "hour": "dimension", "amount": "measure",
                   "salescount": "measure", "category": "dimension"},
)
PNG = png(0)
FIGURE_KINDS = {k.extensions[0] for k in FILE_KINDS if not k.table}


def csv(text: str) -> bytes:
    return text.encode()


def parquet(**columns) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def rows(n: int, line) -> str:
    return "\n".join(line(i) for i in range(n))


SMALL_COUNTS = csv("\ufeffdistrict,cards\nGangnam-gu,25\nJung-gu,3\nGuro-gu,0\nMapo-gu,40\n")  # with a BOM
ROUNDED = csv("district,cards\nGangnam-gu,25\nGuro-gu,0\nMapo-gu,40\n")


def outcomes(filename: str, content: bytes, rules: OutputRules = RULES) -> dict[str, tuple]:
    """Each check's outcome and offending row count, or the refusal."""
    report = check_file(filename, content, rules)
    return {c.name: (c.outcome, c.rows) for c in report.checks}


# --- the rules, case by case ---------------------------------------------------------------------------

CHECKED = [
    # (what, filename, content, check, (outcome, offending rows))
    ("small and unrounded counts", "t.csv", SMALL_COUNTS, "small counts", ("flag", 1)),
    ("small and unrounded counts", "t.csv", SMALL_COUNTS, "rounding", ("flag", 1)),
    ("zeros are not small", "t.csv", ROUNDED, "small counts", ("pass", 0)),
    ("rounded counts", "t.csv", ROUNDED, "rounding", ("pass", 0)),
    ("a parquet the same", "t.parquet", parquet(district=["a", "b"], n=[5, 40]), "small counts", ("flag", 1)),
    ("a tsv the same", "t.tsv", csv("district\tn\na\t7\nb\t40\n"), "small counts", ("flag", 1)),
    ("decimal counts", "t.parquet", parquet(district=["a"], n=pa.array([12], pa.decimal128(10, 0))), "rounding",
     ("flag", 1)),
    ("counts as floats", "t.csv", csv("district,people\na,12.5\nb,40\n"), "small counts", ("flag", 1)),
    ("a sum is not a count", "t.csv", csv("district,total_amount\na,12\nb,13\n"), "small counts", ("pass", 0)),
    ("a key is not a count", "t.csv", csv("hour,cards\n3,25\n4,30\n"), "small counts", ("pass", 0)),
    ("pandas' index is no count", "t.csv", csv(",district,n\n0,a,25\n1,b,30\n"), "small counts", ("pass", 0)),
    ("a small table of means", "t.csv", csv("station,pm25\na,3.2\nb,4.1\n"), "row-level data", ("flag", 2)),
    ("a few ones", "t.csv", csv("district,n\na,1\nb,0\n"), "row-level data", ("flag", 2)),
    ("some e-mails", "t.csv", csv("who,n\nx@example.com,25\nnone,30\nnone2,35\n"), "identifying values", ("flag", 1)),
    ("the same count in every row, of a few rows", "t.csv", csv("district,n\na,25\nb,25\n"), "row-level data",
     ("flag", 2)),
    ("districts by month are cells", "t.parquet", parquet(district=[f"d{i // 12}" for i in range(300)],
                                                          month=[i % 12 for i in range(300)],
                                                          n=[20 + 5 * (i % 9) for i in range(300)]),
     "sparse keys", ("pass", 0)),
    ("no formulas", "t.csv", ROUNDED, "formulas", ("pass", 0)),
    ("many districts are keys", "t.csv", csv("dong,n\n" + rows(300, lambda i: f"Dong-{i},{25 + i % 7}")),
     "unique codes", ("pass", 0)),
    ("row numbers are no codes", "t.csv", csv(",district,n\n" + rows(300, lambda i: f"{i},d{i % 7},{25 + i % 5}")),
     "unique codes", ("pass", 0)),
    ("dates as text are no codes", "t.parquet",
     parquet(when=[f"2025-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(200)], n=[25 + i % 3 for i in range(200)]),
     "unique codes", ("pass", 0)),
]


@pytest.mark.parametrize("what,filename,content,check,expected", CHECKED, ids=[c[0] + "/" + c[3] for c in CHECKED])
def test_tables_are_checked(what, filename, content, check, expected):
    assert outcomes(filename, content)[check] == expected


REFUSED = [
    # (what, filename, content, words of the refusal)
    ("an identifier column", "t.csv", csv("card_id,n\nC01,25\n"), "card_id is named like an identifier column"),
    ("an identifier, spelt otherwise", "t.csv", csv("Store ID,n\nS1,25\n"), "Store ID is named like an identifier"),
    ("an identifier in parquet", "t.parquet", parquet(txn_id=["T1"], n=[25]), "txn_id is named like an identifier"),
    ("renamed card ids", "t.csv", csv("c,n\n" + rows(150, lambda i: f"C{i * 7919:016x},25")),
     "c has 150 distinct values in 150 rows"),
    ("whole-number ids", "t.csv", csv("resident_no,n\n" + rows(150, lambda i: f"{1000 + i * 7},25")),
     "resident_no has 150 distinct"),
    ("e-mails", "t.csv", csv("contact,n\n" + rows(3, lambda i: f"p{i}@example.com,25")), "look like e-mail addresses"),
    ("phones", "t.csv", csv("tel,n\n" + rows(3, lambda i: f"010-1234-{5670 + i},25")), "look like phone numbers"),
    ("card numbers", "t.csv", csv("c,n\n4111 1111 1111 1111,25\n5500-0000-0000-0004,30\n"), "look like card numbers"),
    ("resident numbers", "t.csv", csv("r,n\n900101-1234567,25\n851231-2345678,30\n"),
     "look like resident registration numbers"),
    ("row-level rows", "t.csv", csv("district,category,amount\n" + rows(150, lambda i: f"d{i % 9},c{i % 4},{i * 10}")),
     "150 rows, and there is no count column"),
    ("counts that are all one", "t.csv", csv("district,n\n" + rows(150, lambda i: f"d{i % 9},1")),
     "every count in n is 0 or 1"),
    ("a parquet of rows", "t.parquet", parquet(district=[f"d{i % 9}" for i in range(150)], amount=list(range(150))),
     "that is row-level data"),
    ("too many rows", "t.csv", csv("district,n\n" + rows(100_001, lambda i: "a,25")),
     "the airlock checks tables of up to"),
    ("a pseudonym, once, in any column", "t.csv",
     csv("group,n\n035542320a152969df0a513cd6bfee9c,25\nGangnam-gu,30\n"), "look like the campus's pseudonyms"),
    ("the same count in every row", "t.csv", csv("district,n\n" + rows(150, lambda i: f"d{i},100")),
     "n holds the same value in every row"),
    ("an image that does not decode", "f.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IEND", b""),
     "does not decode as a PNG image"),
    ("a ragged csv", "t.csv", csv("a,b\n1,2,3\n"), "a row has 3 fields where the header has 2"),
    ("not UTF-8", "t.csv", "구,n\n강남,25\n".encode("cp949"), "is not UTF-8 text"),
    ("two columns of one name", "t.csv", csv("n,n\n25,30\n"), "more than one column named 'n'"),
    ("a nested column", "t.parquet", parquet(n=[[1, 2]]), "which the airlock cannot check"),
    ("a table in a text", "notes.md", csv("| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 20), "save it as .csv"),
    # content against the name
    ("a zip named csv", "t.csv", b"PK\x03\x04" + b"\0" * 20, "named as CSV but holds a zip archive"),
    ("a parquet named csv", "t.csv", parquet(n=[25]), "named as CSV but holds a Parquet file"),
    ("a png named csv", "t.csv", PNG, "named as CSV but holds a PNG image"),
    ("a text named png", "f.png", csv("district,n\na,25\n"), "named as PNG but holds text"),
    ("a jpeg named png", "f.png", b"\xff\xd8\xff\xe0 jpeg", "named as PNG but holds a JPEG image"),
    ("a text named parquet", "t.parquet", csv("n\n25\n"), "named as Parquet but holds text"),
    ("a cut parquet", "t.parquet", parquet(n=[25])[:-1], "is not a whole Parquet file"),
    ("a damaged parquet", "t.parquet", b"PAR1" + b"\0" * 40 + b"PAR1", "does not parse as Parquet"),
    ("binary in a text", "notes.txt", b"notes\x00\x01", "holds control characters"),
    # kinds not on the allow-list
    ("a pdf", "f.pdf", b"%PDF-1.7", "a PDF can carry attachments, scripts"),
    ("an svg", "f.svg", b"<svg/>", "an SVG can carry scripts"),
    ("an html page", "f.html", b"<html></html>", "HTML page can carry scripts"),
    ("a spreadsheet", "t.xlsx", b"PK\x03\x04", "save each table as CSV"),
    ("an unknown kind", "t.dat", b"x", "takes only files it knows how to check"),
]


@pytest.mark.parametrize("what,filename,content,words", REFUSED, ids=[r[0] for r in REFUSED])
def test_what_cannot_leave_is_refused_saying_why(what, filename, content, words):
    with pytest.raises(InvalidExport) as refused:
        check_file(filename, content, RULES)
    assert words in refused.value.reason


def test_a_refusal_says_what_to_do_instead():
    for content in (csv("card_id,n\nC01,25\n"), csv("district,amount\n" + rows(150, lambda i: f"d{i},{i}"))):
        with pytest.raises(InvalidExport, match=r"export the aggregate table with campus\.export\(sql, name\)"):
            check_file("t.csv", content, RULES)


# (what, file name, content that starts as its kind should, the reason's words)
UNDECODABLE = [
    ("a PNG signature before text", "f.png", b"\x89PNG\r\n\x1a\n" + csv("district,n\na,25\n" * 20),
     "does not decode as a PNG image"),
    ("a PNG cut short", "f.png", png(3, size=(64, 64))[:-40], "does not decode as a PNG image"),
    ("a JPEG marker before text", "f.jpg", b"\xff\xd8\xff\xe0" + csv("district,n\na,25\n"),
     "does not decode as a JPEG image"),
    ("a JPEG cut short", "f.jpg", jpeg(5, size=(64, 64))[:200], "does not decode as a JPEG image"),
    ("a Parquet's marks around junk", "t.parquet", b"PAR1" + csv("district,n\na,25\n") + b"PAR1",
     "does not parse as Parquet"),
]


@pytest.mark.parametrize("what,filename,content,words", UNDECODABLE, ids=[u[0] for u in UNDECODABLE])
def test_a_file_is_of_its_kind_only_if_it_decodes_not_by_its_first_bytes(what, filename, content, words):
    with pytest.raises(InvalidExport) as refused:
        check_content(kind_of(filename), filename, content)
    assert words in refused.value.reason and "again" in refused.value.reason, "it says what to do"


@pytest.mark.parametrize("filename,content,proved", [
    ("f.png", png(4), "its pixels decode"), ("f.jpg", jpeg(4), "its pixels decode"),
    ("t.parquet", parquet(district=["a"], n=[25]), "its footer and schema parse")])
def test_the_kind_check_says_what_was_decoded(filename, content, proved):
    check = check_content(kind_of(filename), filename, content)
    assert check.outcome == "pass" and check.reason.endswith(proved)


@pytest.mark.parametrize("extension", sorted(FIGURE_KINDS))
def test_figures_and_texts_wait_for_a_reviewers_eyes(extension):
    content = {"png": PNG, "jpg": jpeg()}.get(extension, b"Notes on table 3, in words.\n")
    report = check_file(f"f.{extension}", content, RULES).document()
    assert report["checked"] == "none" and "no automatic check: a reviewer must look at it" in report["summary"]
    assert report["outcome"] == "flag"


# Column roles: (name, type, role)
ROLES = [
    ("card_id", pl.String, "identifier"), ("CardID", pl.String, "identifier"), ("n", pl.Int64, "count"),
    ("cards", pl.Int64, "count"), ("n_stores", pl.Float64, "count"), ("건수", pl.Int64, "count"),
    ("total", pl.Int64, "statistic"), ("mean_amount", pl.Float64, "statistic"), ("±n", pl.Float64, "statistic"),
    ("cards_per_store", pl.Float64, "statistic"), ("amount", pl.Int64, "measure"), ("sales_count", pl.Int64, "measure"),
    ("spending", pl.Int64, "measure"), ("pm25", pl.Float64, "measure"), ("hour", pl.Int8, "key"),
    ("year", pl.Int32, "key"), ("region_id", pl.Int64, "key"), ("Unnamed: 0", pl.Int64, "key"),
    ("district", pl.String, "key"), ("label", pl.String, "key"), ("x", pl.Int32, "count"), ("y", pl.Float64, "measure"),
]


@pytest.mark.parametrize("name,dtype,role", ROLES, ids=[r[0] for r in ROLES])
def test_each_column_gets_its_role_from_its_name_then_its_type(name, dtype, role):
    assert role_of(name, dtype, RULES) == role


# --- properties ----------------------------------------------------------------------------------------

PROPERTIES = settings(max_examples=60, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NAMES = st.sampled_from([f"file.{e}" for k in FILE_KINDS for e in k.extensions])
CONTENT = st.one_of(st.binary(min_size=1, max_size=3000),
                    st.text(min_size=1, max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
                    st.lists(st.lists(st.one_of(st.integers(-5, 10**6).map(str), st.text(",\n\"x1 ", max_size=5)),
                                      min_size=1, max_size=4), min_size=1, max_size=60)
                    .map(lambda table: "\n".join(",".join(row) for row in table).encode()))


@PROPERTIES
@given(filename=NAMES, content=CONTENT)
def test_any_file_is_reported_on_or_refused_with_a_reason_never_an_error(filename, content):
    """Fail closed: whatever the bytes, the checks answer with a report or InvalidExport."""
    try:
        report = check_file(filename, content, RULES)
    except InvalidExport as e:
        assert e.reason and filename in e.reason
        return
    assert report.outcome in ("pass", "flag")


TOKENS = st.from_regex(r"zq[a-z]{6}", fullmatch=True)


@st.composite
def tables(draw):
    """A table whose text values are all distinctive tokens (some shaped like e-mails or codes)."""
    n = draw(st.integers(1, 160))
    shape = draw(st.sampled_from(["{}", "{}@example.com", "C{}0000"]))
    tokens = draw(st.lists(TOKENS, min_size=n, max_size=n))
    keys = [shape.format(t) for t in tokens]
    counts = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    name = draw(st.sampled_from(["district", "who", "card_id", "x"]))
    with_counts = draw(st.booleans())
    return pl.DataFrame({name: keys} | ({"n": counts} if with_counts else {})), tokens


@PROPERTIES
@given(table_and_values=tables(), as_parquet=st.booleans())
def test_reports_and_refusals_never_hold_a_value_of_the_file(table_and_values, as_parquet):
    frame, tokens = table_and_values
    sink = io.BytesIO()
    if as_parquet:
        frame.write_parquet(sink)
    else:
        frame.write_csv(sink)
    try:
        said = json.dumps(check_file("t.parquet" if as_parquet else "t.csv", sink.getvalue(), RULES).document())
    except InvalidExport as e:
        said = e.reason
    assert not [t for t in tokens if t in said]


@PROPERTIES
@given(counts=st.lists(st.one_of(st.none(), st.integers(0, 200)), min_size=1, max_size=80),
       threshold=st.integers(1, 30), base=st.integers(1, 10))
def test_small_and_unrounded_counts_are_flagged_with_how_many_rows_hold_them(counts, threshold, base):
    rules = OutputRules(min_entities=threshold, rounding_base=base)
    table = pl.DataFrame({"district": [f"d{i}" for i in range(len(counts))], "cards": counts})
    sink = io.BytesIO()
    table.write_csv(sink)
    found = outcomes("t.csv", sink.getvalue(), rules)
    small = sum(1 for n in counts if n is not None and 0 < n < threshold)
    unrounded = sum(1 for n in counts if n is not None and n % base) if base > 1 else 0
    assert found["small counts"] == ("flag" if small else "pass", small)
    assert found["rounding"] == ("flag" if unrounded else "pass", unrounded)


# --- through the airlock -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    log = AuditLog(f"sqlite:///{tmp_path_factory.mktemp('checks-db') / 'campus.db'}")
    yield log
    log.close()


@pytest.fixture(scope="module")
def airlock(cx, audit, tmp_path_factory):
    opened = Airlock(cx, SqlExportStore(audit.engine, tmp_path_factory.mktemp("checks-store")),
                     AirlockSettings(requests_per_day=1_000))
    yield opened
    opened.store.close()


def test_thresholds_are_the_strictest_of_the_datasets_the_requester_may_use(cx):
    mine = rules_for(cx.catalog, cx.policy, ALICE, None)
    assert (mine.min_entities, mine.rounding_base) == (20, 5), "the Gangnam association's 20 stores bind her too"
    assert mine.datasets == ("card_usage", "sales_by_location"), "air quality has no entity to protect"
    assert mine.identifiers == RULES.identifiers
    nothing = rules_for(cx.catalog, cx.policy, NOBODY, None)
    assert nothing.datasets == () and nothing.min_entities == 10, "no grant: the catalog's own thresholds"


def test_a_flagged_csv_waits_for_review_with_its_report(airlock, audit):
    request = airlock.export_file(ALICE, "cards.csv", SMALL_COUNTS, "table 3", name="cards-by-district", audit=audit)
    assert (request.name, request.status, request.media_type) == ("cards-by-district", Status.NEEDS_REVIEW, "text/csv")
    stored = airlock.get(request.id, SEJIN).report
    flagged = {c["name"]: c for c in stored["checks"] if c["outcome"] == "flag"}
    assert set(flagged) == {"small counts", "rounding"}
    assert flagged["small counts"]["columns"] == ["cards"] and flagged["small counts"]["rows"] == 1
    assert stored["thresholds"] == {"min_entities": 20, "rounding_base": 5,
                                    "datasets": ["card_usage", "sales_by_location"]}
    assert "Jung-gu" not in json.dumps(stored), "the report names columns and counts rows, never values"
    assert airlock.table(request.id, SEJIN, audit=audit).column("district").to_pylist()[:2] == ["Gangnam-gu", "Jung-gu"]


def test_a_request_is_named_after_its_file_unless_named(airlock, audit):
    assert airlock.export_file(ALICE, "figure-2.png", PNG, audit=audit).name == "figure-2"
    named = airlock.export_file(ALICE, "figure-2.png", png(2), name="Figure 2 (map)", audit=audit)
    assert named.name == "Figure-2-map"


@pytest.mark.parametrize("filename,content,words", [
    ("ids.csv", csv("card_id,n\nC01,25\n"), "card_id"),
    ("rows.parquet", parquet(district=[f"d{i % 9}" for i in range(150)], amount=list(range(150))), "row-level"),
    ("figure.png", csv("district,n\na,25\n"), "named as PNG but holds text"),
])
def test_a_refused_file_leaves_no_request_and_the_refusal_is_audited(airlock, audit, filename, content, words):
    before = len(airlock.mine(ALICE))
    with pytest.raises(InvalidExport, match=words):
        airlock.export_file(ALICE, filename, content, audit=audit)
    assert len(airlock.mine(ALICE)) == before
    last = audit.events(limit=1)[0]
    assert (last["actor"], last["action"], last["outcome"]) == ("alice", "export_submitted", "refused")
    assert words in last["detail"]["reason"]


def test_a_png_passes_to_a_reviewer(airlock, audit):
    request = airlock.export_file(ALICE, "map.png", png(1), "figure 1", audit=audit)
    assert request.status is Status.NEEDS_REVIEW and request.media_type == "image/png"
    assert request.report["summary"] == "PNG: no automatic check: a reviewer must look at it"


def test_new_content_of_a_returned_file_is_checked_again(airlock, audit):
    request = airlock.export_file(ALICE, "cards.csv", SMALL_COUNTS + b"Seocho-gu,15\n", audit=audit)
    airlock.review(request.id, SEJIN, "return", "withhold the count under 20", audit=audit)
    with pytest.raises(InvalidExport, match="card_id"):
        airlock.resubmit(request.id, ALICE, content=csv("card_id,cards\nC1,25\n"), audit=audit)
    with pytest.raises(InvalidExport, match="named as CSV but holds a PNG"):
        airlock.resubmit(request.id, ALICE, content=PNG, audit=audit)
    with pytest.raises(InvalidExport, match="cannot take a new query"):
        airlock.resubmit(request.id, ALICE, sql="SELECT 1", audit=audit)
    again = airlock.resubmit(request.id, ALICE, content=ROUNDED, audit=audit)
    assert again.status is Status.NEEDS_REVIEW and again.round == 2
    assert again.report["outcome"] == "pass" and "nothing flagged" in again.report["summary"]


# --- what leaves is what the campus wrote (issue 24) -----------------------------------------------------

KEY = project_key(bytes(32), "gangnam-retail")
RECORDS = "\n".join(f"{pseudonym(KEY, f'C{i:06d}')},{1000 + 37 * i}" for i in range(6_000)).encode()


def approved_and_downloaded(airlock, audit, filename: str, content: bytes) -> tuple[bytes, bytes]:
    """A file through the airlock: what the reviewer was shown and approved, and what the requester downloads."""
    request = airlock.export_file(ALICE, filename, content, "issue 24", name=f"leak-{next(LEAKS)}", audit=audit)
    shown = airlock.content(request.id, SEJIN, audit=audit)
    airlock.review(request.id, SEJIN, "approve", audit=audit, seen=Seen(request.content_sha256, request.round),
                   release=True)
    download = airlock.download(request.id, ALICE, audit=audit)
    assert download.sha256 == request.content_sha256 == hashlib.sha256(shown).hexdigest()
    return shown, download.content


LEAKS = itertools.count(1)


def test_parquet_metadata_never_leaves(airlock, audit):
    """24 aggregate rows with 6,000 records compressed in the schema metadata and a field's."""
    table = aggregate(24)
    hidden = zlib.compress(RECORDS)
    table = table.replace_schema_metadata({"records": hidden}).cast(pa.schema(
        [table.schema.field(0).with_metadata({"more": hidden[:500]}), *list(table.schema)[1:]],
        metadata={"records": hidden}))
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=5)  # and extra row groups
    shown, released = approved_and_downloaded(airlock, audit, "by-district.parquet", sink.getvalue())
    assert shown == released, "the reviewer approved exactly the bytes that leave"
    parquet = pq.ParquetFile(io.BytesIO(released))
    assert parquet.metadata.metadata is None and parquet.metadata.num_row_groups == 1
    assert parquet.schema_arrow.field("district").metadata is None
    assert hidden[:64] not in released and b"records" not in released
    assert parquet.read().to_pylist() == aggregate(24).to_pylist(), "the values leave as they were"


def test_a_png_leaves_as_its_pixels_alone(airlock, audit):
    """A flat 64×64 PNG with 2,000 records in a tEXt chunk and more after IEND."""
    clean = png(200, size=(64, 64))
    records = RECORDS[:RECORDS.index(b"\n", 2_000 * 40)]
    shown, released = approved_and_downloaded(airlock, audit, "map.png", with_hidden(clean, records, records))
    assert shown == released == image_bytes("PNG", "map.png", clean)
    assert b"tEXt" not in released and records[:40] not in released and released.endswith(b"IEND\xaeB`\x82")
    assert Image.open(io.BytesIO(released)).getpixel((5, 5)) == (200, 0, 0)


def test_a_text_leaves_normalised(airlock, audit):
    text = "\ufeffNotes on table 3\r\nzero\u200bwidth\u202e and trailing   \r\nCafe\u0301\x0c\n".encode()
    shown, released = approved_and_downloaded(airlock, audit, "notes.txt", text)
    assert released == "Notes on table 3\nzerowidth and trailing\nCafé\n".encode()


def test_a_jpeg_leaves_without_exif(airlock, audit):
    sink = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "card C000123 spent 41,000 won"  # ImageDescription
    Image.new("RGB", (32, 32), (10, 200, 30)).save(sink, "JPEG", exif=exif, icc_profile=b"\0" * 200)
    shown, released = approved_and_downloaded(airlock, audit, "photo.jpg", sink.getvalue() + b"after the end")
    assert b"C000123" not in released and b"Exif" not in released and b"ICC_PROFILE" not in released
    assert not released.endswith(b"after the end")


DISGUISED = [
    # (what, columns of 5,000 rows, the rule that finds it)
    ("pseudonyms renamed card_group, amounts spend_band, n = 100 on every row",
     {"card_group": [pseudonym(KEY, f"C{i % 4_100:06d}") for i in range(5_000)],
      "spend_band": [1000 + (i * 7919) % 90_000 for i in range(5_000)], "n": [100] * 5_000},
     "look like the campus's pseudonyms"),
    ("the same with the pseudonyms cut to letters", {"card_group": [f"g{i % 4_100}" for i in range(5_000)],
                                                    "spend_band": [1000 + (i * 7919) % 90_000 for i in range(5_000)],
                                                    "n": [100] * 5_000}, "the same value in every row"),
    ("and with counts that vary at random", {"card_group": [f"g{i % 4_100}" for i in range(5_000)],
                                            "spend_band": [1000 + (i * 7919) % 90_000 for i in range(5_000)],
                                            "n": [20 + 5 * ((i * 31) % 17) for i in range(5_000)]},
     "card_group has 4,100 distinct values in 5,000 rows"),
    ("card and day, each row its own pair", {"holder": [f"h{i % 2_000}" for i in range(5_000)],
                                            "day": [date(2025, 1, 1) + timedelta(days=(i * 13) % 365)
                                                    for i in range(5_000)],
                                            "n": [20 + 5 * (i % 5) for i in range(5_000)]},
     "fill only"),
]


@pytest.mark.parametrize("what,columns,words", DISGUISED, ids=[d[0] for d in DISGUISED])
def test_row_level_tables_are_found_by_their_content_whatever_the_names(what, columns, words):
    with pytest.raises(InvalidExport, match=re.escape(words)):
        check_file("summary.parquet", parquet(**columns), RULES)


def test_summary_rows_followed_by_row_level_ones_are_refused():
    summary = aggregate(600).to_pydict()
    cards = [pseudonym(KEY, f"C{i % 4_100:06d}") for i in range(5_000)]
    content = parquet(district=summary["district"] + cards, month=summary["month"] + [1] * 5_000,
                      cards=summary["cards"] + [100] * 5_000)
    with pytest.raises(InvalidExport, match="pseudonyms"):
        check_file("table.parquet", content, RULES)


def test_a_table_longer_than_the_review_page_can_show_is_refused_saying_the_limit():
    sink = io.BytesIO()
    pq.write_table(aggregate(10_001), sink)
    with pytest.raises(InvalidExport, match="up to 10,000"):
        check_file("big.parquet", sink.getvalue(), RULES)
    sink = io.BytesIO()
    pq.write_table(aggregate(10_000), sink)
    assert check_file("big.parquet", sink.getvalue(), RULES).rows == 10_000


def test_formulas_leave_neutralised_and_are_flagged():
    content = csv('district,n\n"=HYPERLINK(""http://x"",""a"")",25\n+cmd,30\n@SUM(A1),35\n-2+3,40\n"\t=1",45\n'
                  'plain,50\n')
    report = check_file("t.csv", content, RULES)
    assert {c.name: (c.outcome, c.rows) for c in report.checks}["formulas"] == ("flag", 5)
    released = pa_csv.read_csv(io.BytesIO(report.content)).column("district").to_pylist()
    assert released == ["'=HYPERLINK(\"http://x\",\"a\")", "'+cmd", "'@SUM(A1)", "'-2+3", "'\t=1", "plain"]


# --- properties of the rewrite ---------------------------------------------------------------------------

TEXT_CELLS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
COLUMNS = st.one_of(
    st.lists(st.one_of(st.none(), st.integers(-2**53, 2**53)), min_size=1, max_size=30),
    st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)), min_size=1, max_size=30),
    st.lists(st.one_of(st.none(), TEXT_CELLS), min_size=1, max_size=30),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=1, max_size=30),
    st.lists(st.one_of(st.none(), st.dates()), min_size=1, max_size=30),
)


@st.composite
def any_tables(draw) -> pa.Table:
    columns = draw(st.lists(COLUMNS, min_size=1, max_size=4))
    rows = min(len(c) for c in columns)
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=len(columns),
                          max_size=len(columns), unique=True))
    return pa.table({name: column[:rows] for name, column in zip(names, columns)})


def uploaded(table: pa.Table, kind: str) -> bytes:
    """`table` as a researcher's code might write it (Parquet with metadata, CSV by polars)."""
    sink = io.BytesIO()
    if kind == "parquet":
        pq.write_table(table.replace_schema_metadata({"note": "anything"}), sink, row_group_size=7)
    else:
        pl.from_arrow(table).write_csv(sink, separator="\t" if kind == "tsv" else ",")
    return sink.getvalue()


@PROPERTIES
@given(table=any_tables(), kind=st.sampled_from(["parquet", "csv", "tsv"]))
def test_a_table_written_anew_is_written_the_same_again_and_keeps_its_values(table, kind):
    """rewrite(rewrite(x)) == rewrite(x), and the values leave as the checks read them from the upload."""
    name = f"t.{kind}"
    try:
        once, _ = written_anew(kind_of(name), name, uploaded(table, kind))
    except InvalidExport as e:  # a value the format cannot carry back: refused, never changed
        assert kind != "parquet" and "cannot be written again with the same values" in e.reason
        return
    twice, formulas = written_anew(kind_of(name), name, once)
    assert twice == once and formulas == 0, "what leaves is a fixed point: nothing left to neutralise"
    read, _ = neutralised(read_table(kind_of(name), name, uploaded(table, kind)))
    assert read_table(kind_of(name), name, once).to_pylist() == read.to_pylist()
    if kind == "parquet":
        assert read_table(kind_of(name), name, once).to_pylist() == neutralised(table)[0].to_pylist()


@PROPERTIES
@given(pixels=st.binary(min_size=4 * 6 * 5, max_size=4 * 6 * 5), mode=st.sampled_from(["L", "RGB", "RGBA", "P"]),
       chunks=st.lists(st.tuples(st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"priV", b"teXt"]),
                                 st.binary(max_size=200)), max_size=4),
       trailing=st.binary(max_size=300))
def test_a_png_leaves_as_the_rewrite_of_its_pixels_alone(pixels, mode, chunks, trailing):
    sink = io.BytesIO()
    image = Image.frombytes(mode, (6, 5), pixels[:6 * 5 * len(mode)] if mode != "P" else pixels[:30])
    image.save(sink, "PNG")
    clean = sink.getvalue()
    end = clean.rindex(b"IEND") - 4
    dressed = clean[:end] + b"".join(chunk(kind, data) for kind, data in chunks) + clean[end:] + trailing
    released = check_file("f.png", dressed, RULES).content
    assert released == image_bytes("PNG", "f.png", clean)
    assert released.endswith(b"IEND\xaeB`\x82") and all(kind not in released for kind, _ in chunks)


@PROPERTIES
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_a_text_normalised_is_normalised_the_same_again(text):
    once = text_bytes(text.encode())
    assert text_bytes(once) == once
    assert not CONTROL.search(once.replace(b"\t", b"").replace(b"\n", b""))
