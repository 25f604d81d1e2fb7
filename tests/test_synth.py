"""The synthetic data: same seed, same bytes; the catalog's exact types; data that looks like Seoul.

Every disclosure rule is tested on this data, so the realism checks below are ones that
could fail: small cells must exist, dominant contributors must exist, the seasons must
show. Builds are small (scale 0.02: 20,000 card transactions) and shared by the tests.
"""

import fcntl
import hashlib
import json
import re

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import campus.cli
from campus import catalog
from campus.settings import Settings
from campus.storage import arrow_schema
from campus.synth import MANIFEST, RECIPES, BuildError, build, seoul
from campus.synth.partition import MONTHS

CATALOG = catalog.load(Settings().catalog_path)
SCALE, SEED = 0.02, 42


def hashes(out_dir):
    """sha256 of every Parquet file under `out_dir`, by path relative to it."""
    return {
        str(path.relative_to(out_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out_dir.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("data")
    build(CATALOG, out_dir, scale=SCALE, seed=SEED)
    return out_dir


@pytest.fixture(scope="module")
def db(built):
    """DuckDB with a view per dataset, reading the files as the catalog describes them."""
    con = duckdb.connect()
    for dataset in CATALOG:
        files = [str(f) for f in dataset.files(built)]
        con.execute(f"CREATE VIEW {dataset.name} AS SELECT * FROM read_parquet({files}, hive_partitioning = false)")
    return con


# --- determinism -------------------------------------------------------------------


def test_same_seed_and_scale_give_the_same_bytes(built, tmp_path):
    build(CATALOG, tmp_path, scale=SCALE, seed=SEED)
    assert len(hashes(built)) == 3 * 12
    assert hashes(tmp_path) == hashes(built)
    assert (tmp_path / MANIFEST).read_text() == (built / MANIFEST).read_text()


def test_another_seed_gives_other_bytes(built, tmp_path):
    build(CATALOG, tmp_path, scale=SCALE, seed=SEED + 1)
    theirs, ours = hashes(tmp_path), hashes(built)
    assert theirs.keys() == ours.keys()
    assert all(theirs[name] != ours[name] for name in ours)


@pytest.mark.parametrize("name", ["card_usage", "sales_by_location", "air_quality"])
def test_a_month_generated_alone_is_the_month_in_the_build(built, name):
    recipe, dataset, june = RECIPES[name], CATALOG[name], MONTHS[5]
    schema = arrow_schema(dataset)
    alone = pa.concat_tables(recipe.partition(schema, recipe.population(SEED, SCALE), june))
    in_build = pq.read_table(built / dataset.source / f"month={june.label}" / "part-0.parquet")
    assert alone.equals(in_build)


# --- the catalog's exact shape -----------------------------------------------------


@pytest.mark.parametrize("name", ["card_usage", "sales_by_location", "air_quality"])
def test_every_file_has_exactly_the_catalog_columns_and_types(built, name):
    dataset = CATALOG[name]
    wanted = [(column, spec.type) for column, spec in dataset.columns.items()]
    files = dataset.files(built)
    assert [f.relative_to(built / dataset.source).as_posix() for f in files] == [
        f"month={m.label}/part-0.parquet" for m in MONTHS
    ]
    for path in files:
        assert pq.read_schema(path).remove_metadata() == arrow_schema(dataset)
        described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)").fetchall()
        assert [(row[0], row[1]) for row in described] == wanted
        assert pq.read_metadata(path).metadata.keys() == {b"ARROW:schema"}  # no pandas metadata


def test_duckdb_reads_the_month_folders_as_a_column_unless_told_not_to(built):
    """A pitfall for whoever reads these files: hive partitioning is on by default."""
    path = CATALOG["sales_by_location"].files(built)[0]
    guessed = duckdb.execute(f"SELECT typeof(month) FROM read_parquet('{path}')").fetchall()[0]
    as_written = duckdb.execute(f"SELECT typeof(month) FROM read_parquet('{path}', hive_partitioning = false)").fetchall()[0]
    assert (guessed, as_written) == (("VARCHAR",), ("DATE",))


def test_row_counts_grow_linearly_with_the_scale(built, tmp_path):
    build(CATALOG, tmp_path, scale=2 * SCALE, seed=SEED)
    small, large = (json.loads((d / MANIFEST).read_text())["datasets"] for d in (built, tmp_path))
    ratio = {name: large[name]["rows"] / small[name]["rows"] for name in small}
    assert ratio["card_usage"] == pytest.approx(2, rel=0.05)
    assert ratio["sales_by_location"] == pytest.approx(2, rel=0.05)
    assert ratio["air_quality"] == 1  # fixed size: 25 stations, every hour
    assert small["card_usage"]["rows"] == pytest.approx(1_000_000 * SCALE, rel=0.05)
    assert small["sales_by_location"]["rows"] == pytest.approx(12 * 40_000 * SCALE, rel=0.1)
    assert small["air_quality"]["rows"] == 25 * 365 * 24


# --- invariants: each query counts the rows that break the rule ---------------------

DISTRICTS = ", ".join(f"'{d}'" for d in seoul.DISTRICT_NAMES)
BANDS = "amount_00_06 + amount_06_11 + amount_11_14 + amount_14_17 + amount_17_21 + amount_21_24"
PARTS = "weekday_amount, weekend_amount, amount_00_06, amount_06_11, amount_11_14, amount_14_17, amount_17_21, amount_21_24"
INVARIANTS = [
    ("weekday + weekend = sales",
     "SELECT count(*) FROM sales_by_location WHERE weekday_amount + weekend_amount <> sales_amount"),
    ("time bands add up to sales",
     f"SELECT count(*) FROM sales_by_location WHERE {BANDS} <> sales_amount"),
    ("no negative part",
     f"SELECT count(*) FROM sales_by_location WHERE least({PARTS}) < 0"),
    ("a sale has a count",
     "SELECT count(*) FROM sales_by_location WHERE sales_count < 1 OR sales_amount < sales_count"),
    ("month is the first day",
     "SELECT count(*) FROM sales_by_location WHERE day(month) <> 1 OR year(month) <> 2025"),
    ("a store once a month",
     "SELECT count(*) - count(DISTINCT (store_id, month)) FROM sales_by_location"),
    ("hour is the hour of txn_time",
     "SELECT count(*) FROM card_usage WHERE hour <> hour(txn_time)"),
    ("txn_date is the day of txn_time",
     "SELECT count(*) FROM card_usage WHERE txn_date <> CAST(txn_time AS DATE)"),
    ("amounts are at least 100 won, in 10s",
     "SELECT count(*) FROM card_usage WHERE amount < 100 OR amount % 10 <> 0"),
    ("txn_id is unique",
     "SELECT count(*) - count(DISTINCT txn_id) FROM card_usage"),
    ("card_id is C and 16 hex digits",
     "SELECT count(*) FROM card_usage WHERE NOT regexp_full_match(card_id, 'C[0-9a-f]{16}')"),
    ("a card keeps its age, gender, home",
     """SELECT count(*) FROM (SELECT card_id FROM card_usage GROUP BY card_id
        HAVING count(DISTINCT (age_band, gender, home_district)) > 1)"""),
    ("a merchant keeps its place and trade",
     """SELECT count(*) FROM (SELECT merchant_id FROM card_usage GROUP BY merchant_id
        HAVING count(DISTINCT (district, dong, category)) > 1)"""),
    ("card districts are Seoul's 25",
     f"SELECT count(*) FROM card_usage WHERE district NOT IN ({DISTRICTS}) OR home_district NOT IN ({DISTRICTS})"),
    ("sales districts are Seoul's 25",
     f"SELECT count(*) FROM sales_by_location WHERE district NOT IN ({DISTRICTS})"),
    ("stations are in Seoul's 25",
     f"SELECT count(*) FROM air_quality WHERE district NOT IN ({DISTRICTS})"),
    ("readings are on the hour",
     "SELECT count(*) FROM air_quality WHERE date_trunc('hour', measured_at) <> measured_at"),
    ("a station reads once an hour",
     "SELECT count(*) - count(DISTINCT (station, measured_at)) FROM air_quality"),
    ("readings are positive",
     "SELECT count(*) FROM air_quality WHERE least(pm10, pm25, o3, no2, co, so2) <= 0"),
]


@pytest.mark.parametrize("sql", [sql for _, sql in INVARIANTS], ids=[name for name, _ in INVARIANTS])
def test_invariant(db, sql):
    assert db.execute(sql).fetchall()[0][0] == 0


def test_every_dong_is_in_its_district(db):
    dongs = {(d.name, dong) for d in seoul.DISTRICTS for dong in d.dongs}
    assert set(db.sql("SELECT DISTINCT district, dong FROM card_usage").fetchall()) <= dongs


# --- realism: each query is true of data that looks like Seoul ----------------------

REALISM = [
    ("small cells: category x dong x month with fewer than 5 cards", """
        SELECT count(*) > 0 FROM (SELECT count(DISTINCT card_id) AS cards FROM card_usage
        GROUP BY category, district, dong, month(txn_date)) WHERE cards < 5"""),
    ("a card holds >= 90% of a cell of 3 or more cards", """
        WITH spend AS (SELECT category, district, dong, month(txn_date) AS m, card_id, sum(amount) AS a
                       FROM card_usage GROUP BY ALL)
        SELECT count(*) > 0 FROM (SELECT count(*) AS cards, max(a) / sum(a) AS top FROM spend
        GROUP BY category, district, dong, m) WHERE cards >= 3 AND top >= 0.9"""),
    ("whales: the biggest spender spends over 100 times the median card", """
        WITH per AS (SELECT sum(amount) AS a FROM card_usage GROUP BY card_id)
        SELECT max(a) > 100 * median(a) FROM per"""),
    ("a store holds >= 90% of a cell of 2 or more stores", """
        SELECT count(*) > 0 FROM (SELECT count(*) AS stores, max(sales_amount) / sum(sales_amount) AS top
                                  FROM sales_by_location GROUP BY district, commercial_area, industry, month)
        WHERE stores >= 2 AND top >= 0.9"""),
    ("a few cards are used very often: top 1% make over 5% of transactions", """
        WITH per AS (SELECT count(*) AS n FROM card_usage GROUP BY card_id)
        SELECT sum(n) FILTER (WHERE n >= (SELECT quantile_disc(n, 0.99) FROM per)) > 0.05 * sum(n) FROM per"""),
    ("Friday and Saturday are busier than Monday to Thursday", """
        SELECT avg(n) FILTER (WHERE dow IN (5, 6)) > 1.05 * avg(n) FILTER (WHERE dow BETWEEN 1 AND 4)
        FROM (SELECT txn_date, dayofweek(txn_date) AS dow, count(*) AS n FROM card_usage GROUP BY ALL)"""),
    ("restaurants peak at lunch, bars late at night", """
        SELECT mode(hour) FILTER (WHERE category = 'Restaurants') BETWEEN 11 AND 13
           AND (count(*) FILTER (WHERE category = 'Bars and pubs' AND (hour >= 20 OR hour < 2)))
             > 0.5 * count(*) FILTER (WHERE category = 'Bars and pubs') FROM card_usage"""),
    ("business districts draw more spending than residential ones", """
        SELECT sum(amount) FILTER (WHERE district = 'Gangnam-gu') > 2 * sum(amount) FILTER (WHERE district = 'Dobong-gu')
           AND sum(amount) FILTER (WHERE district = 'Jung-gu') > sum(amount) FILTER (WHERE district = 'Dobong-gu')
          FROM card_usage"""),
    ("stores open or close during the year", """
        SELECT count(*) > 0 FROM (SELECT store_id FROM sales_by_location GROUP BY 1 HAVING count(*) < 12)"""),
    ("PM2.5 is higher in January-April than in July-September", """
        SELECT avg(pm25) FILTER (WHERE month(measured_at) <= 4)
             > avg(pm25) FILTER (WHERE month(measured_at) BETWEEN 7 AND 9) FROM air_quality"""),
    ("yellow dust: the spring's worst PM10 is far above its PM2.5", """
        SELECT max(pm10 - pm25) > 100 FROM air_quality WHERE month(measured_at) IN (3, 4)"""),
    ("stations move together hour by hour", """
        SELECT corr(a.pm25, b.pm25) > 0.5 FROM air_quality a JOIN air_quality b USING (measured_at)
        WHERE a.station = 'Gangnam-gu' AND b.station = 'Nowon-gu'"""),
    ("roadside stations read more NO2", """
        SELECT avg(no2) FILTER (WHERE station IN ('Jung-gu', 'Gangnam-gu'))
             > avg(no2) FILTER (WHERE station IN ('Dobong-gu', 'Eunpyeong-gu')) FROM air_quality"""),
    ("ozone peaks on summer afternoons", """
        SELECT avg(o3) FILTER (WHERE month(measured_at) IN (6, 7, 8) AND hour(measured_at) BETWEEN 13 AND 17)
             > 2 * avg(o3) FILTER (WHERE month(measured_at) IN (12, 1) AND hour(measured_at) BETWEEN 13 AND 17)
        FROM air_quality"""),
    ("about 0.5% of readings are missing", """
        SELECT 1 - count(pm25) / count(*) BETWEEN 0.002 AND 0.01 FROM air_quality"""),
]


@pytest.mark.parametrize("sql", [sql for _, sql in REALISM], ids=[name for name, _ in REALISM])
def test_looks_like_seoul(db, sql):
    assert db.execute(sql).fetchall()[0][0] is True


def test_commercial_areas_are_named_once_and_8_to_20_per_district():
    areas = [a for d in seoul.DISTRICTS for a in seoul.commercial_areas(d.name)]
    assert len(areas) == len(set(areas))
    assert all(8 <= len(seoul.commercial_areas(d.name)) <= 20 for d in seoul.DISTRICTS)
    assert set(seoul.REGION_OF_DISTRICT.values()) == set(seoul.REGIONS)


# --- rebuilding ----------------------------------------------------------------------


def test_a_second_build_with_the_same_arguments_is_skipped(built):
    before = (built / MANIFEST).stat().st_mtime_ns
    again = build(CATALOG, built, scale=SCALE, seed=SEED)
    assert again.written == {}
    assert set(again.up_to_date) == {"card_usage", "sales_by_location", "air_quality"}
    assert (built / MANIFEST).stat().st_mtime_ns == before


# (what changes after a first build of air_quality, is it built again?)
REBUILDS = [
    ("nothing", lambda out: None, {}, False),
    ("the seed", lambda out: None, {"seed": 7}, True),
    ("the scale", lambda out: None, {"scale": 0.5}, True),
    ("a file deleted", lambda out: next(out.rglob("*.parquet")).unlink(), {}, True),
    ("a file truncated", lambda out: next(out.rglob("*.parquet")).write_bytes(b"PAR1"), {}, True),
    ("the manifest deleted", lambda out: (out / MANIFEST).unlink(), {}, True),
]


@pytest.mark.parametrize("change, arguments, rebuilt", [r[1:] for r in REBUILDS], ids=[r[0] for r in REBUILDS])
def test_what_makes_a_dataset_build_again(tmp_path, change, arguments, rebuilt):
    build(CATALOG, tmp_path, scale=SCALE, seed=SEED, only="air_quality")
    change(tmp_path)
    again = build(CATALOG, tmp_path, **({"scale": SCALE, "seed": SEED, "only": "air_quality"} | arguments))
    assert ("air_quality" in again.written) is rebuilt
    assert len(list((tmp_path / "air_quality").rglob("*.parquet"))) == 12


def test_an_interrupted_build_leaves_no_dataset_that_looks_complete(tmp_path):
    build(CATALOG, tmp_path, scale=SCALE, seed=SEED, only="air_quality")
    old = hashes(tmp_path)

    def stop_after_three(done, total, what):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(CATALOG, tmp_path, scale=SCALE, seed=SEED + 1, only="air_quality", progress=stop_after_three)
    assert hashes(tmp_path) == old  # the old dataset, whole
    assert "air_quality" not in json.loads((tmp_path / MANIFEST).read_text())["datasets"]
    assert not list(tmp_path.glob(".*building"))  # the half-written months are gone
    resumed = build(CATALOG, tmp_path, scale=SCALE, seed=SEED + 1, only="air_quality")
    assert resumed.written == {"air_quality": 25 * 365 * 24}


def test_two_builds_never_write_one_folder_at_once(tmp_path):
    with open(tmp_path / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(BuildError, match="another build is writing to"):
            build(CATALOG, tmp_path, scale=SCALE, only="air_quality")
    assert build(CATALOG, tmp_path, scale=SCALE, only="air_quality").written


BAD_ARGUMENTS = [
    ({"scale": 0}, "scale 0 is out of range"),
    ({"scale": -1}, "scale -1 is out of range"),
    ({"scale": float("nan")}, "scale nan is out of range"),
    ({"seed": -1}, "seed -1 is not a whole number >= 0"),
    ({"only": "nope"}, "no dataset 'nope'; the catalog has: air_quality, card_usage, sales_by_location"),
]


@pytest.mark.parametrize("arguments, message", BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_arguments_say_what_to_do(tmp_path, arguments, message):
    with pytest.raises(BuildError, match=re.escape(message)):
        build(CATALOG, tmp_path, **arguments)
    assert not (tmp_path / MANIFEST).exists()


def _add_pm1(columns):
    columns["pm1"] = columns["pm25"]


def _drop_so2(columns):
    del columns["so2"]


def _retype(name, sql_type):
    def change(columns):
        columns[name] = columns[name].model_copy(update={"type": sql_type})

    return change


# (how a steward changes air_quality in the catalog, what the build says)
CATALOG_CHANGES = [
    (_add_pm1, "the catalog and the demo-data generator disagree on the columns: in the catalog only: pm1"),
    (_drop_so2, "generated only: so2"),
    (_retype("station", "INTEGER"), "column station is generated as string, but the catalog says int32"),
    (_retype("pm25", "VARCHAR"), "column pm25 is generated as float64, but the catalog says string"),
    (_retype("pm25", "BIGINT"), "column pm25 is generated as float64, but the catalog says int64"),
]


@pytest.mark.parametrize("change, message", CATALOG_CHANGES, ids=[m for _, m in CATALOG_CHANGES])
def test_a_catalog_the_generator_does_not_follow_is_named(tmp_path, change, message):
    changed = CATALOG.model_copy(deep=True)
    change(changed["air_quality"].columns)
    with pytest.raises(BuildError, match=re.escape(message)):
        build(changed, tmp_path, scale=SCALE, only="air_quality")
    assert not (tmp_path / "air_quality").exists()


# --- the command line ----------------------------------------------------------------

campus.cli._mount()
runner = CliRunner()


CLI = [
    (["datasets", "list"], 0, ["card_usage", "sales_by_location", "air_quality", "sensitive", "store_id"]),
    (["datasets", "describe", "card_usage"], 0, ["Card usage", "card_id", "identifier", "TIMESTAMP", "KRW"]),
    (["datasets", "describe", "nope"], 2, ["no dataset 'nope'", "air_quality, card_usage, sales_by_location"]),
    (["datasets", "build", "--only", "nope"], 2, ["no dataset 'nope'"]),
]


@pytest.mark.parametrize("args, exit_code, shown", CLI, ids=[" ".join(c[0]) for c in CLI])
def test_cli(args, exit_code, shown):
    result = runner.invoke(campus.cli.app, args, env={"COLUMNS": "200"})
    assert result.exit_code == exit_code, result.output
    for text in shown:
        assert text in result.output


def test_cli_builds_then_says_it_is_already_built(tmp_path):
    args = ["datasets", "build", "--scale", "0.01", "--seed", "3", "--only", "air_quality", "--out", str(tmp_path)]
    first = runner.invoke(campus.cli.app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "air_quality" in first.output and "219,000" in first.output
    second = runner.invoke(campus.cli.app, args, env={"COLUMNS": "200"})
    assert f"already built for seed 3, scale 0.01 at {tmp_path}" in second.output
