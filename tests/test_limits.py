"""Every query is bounded end to end: one time limit, a cell limit, and others stay served."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pyarrow as pa
import pytest

import campus
from campus import QueryRejected
from campus.errors import QueryTimeout
from campus.engines import Deadline
from campus.settings import PROJECT_ROOT
from extractguard import Cells, Disclosure, Measure, check

SLOW = "SELECT count(*) AS n FROM air_quality a, air_quality b WHERE a.pm25 < b.pm25"


@pytest.fixture(scope="module")
def narrow(demo_data, tmp_path_factory):
    """The demo campus, with the researchers' card grant limited to 500 cells per aggregate."""
    root = tmp_path_factory.mktemp("narrow-root")
    for folder in ("datasets", "policies"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    (root / "hub").mkdir()
    shutil.copy(PROJECT_ROOT / "hub" / "users.yaml", root / "hub" / "users.yaml")
    grants = root / "policies" / "grants.yaml"
    grants.write_text(grants.read_text().replace(
        "    masks: {home_district: region}\n", "    masks: {home_district: region}\n    disclosure: {max_cells: 500}\n", 1))
    opened = campus.open(root, data_dir=demo_data, state_dir=tmp_path_factory.mktemp("narrow-state"), query_seconds=3)
    yield opened
    opened.close()


def test_an_aggregate_over_the_cell_limit_is_refused_saying_how_to_narrow(narrow):
    alice = narrow.session("alice", ["researchers"])
    with pytest.raises(QueryRejected) as e:
        alice.sql("SELECT dong, category, count(*) AS n FROM card_usage GROUP BY ALL")
    assert "more than 500 cells" in e.value.reason and "narrow it" in e.value.reason
    assert len(alice.sql("SELECT district, count(*) AS n FROM card_usage GROUP BY 1")) == 25


TWELVE = ("'Dobong-gu', 'Dongdaemun-gu', 'Dongjak-gu', 'Eunpyeong-gu', 'Gangbuk-gu', 'Gangdong-gu', 'Gangnam-gu', "
          "'Gangseo-gu', 'Geumcheon-gu', 'Guro-gu', 'Gwanak-gu', 'Gwangjin-gu'")


def test_a_public_domain_too_large_to_show_leaves_withheld_cells_out(narrow):
    """Twelve districts x 24 categories x one age band x two genders are 576 public
    combinations, more than 500: the table is not completed, and its small cells stay out
    rather than the query failing. (A filter on a column not grouped by counts every cell
    it may leave alone, so the cells are narrowed by keys: district and age band.)"""
    alice = narrow.session("alice", ["researchers"])
    shown = alice.sql("SELECT district, category, age_band, gender, count(*) AS n FROM card_usage "
                      f"WHERE hour = 3 AND age_band = '70s' AND district IN ({TWELVE}) GROUP BY ALL").pl()
    assert shown.height < 500 and shown["n"].null_count() == 0


def test_the_time_limit_covers_the_guard(narrow):
    """The guard stops at the query's deadline like DuckDB does."""
    n = 50_000
    rng = np.random.default_rng(1)
    stats = pa.table({
        "k0": rng.integers(0, 500, n), "k1": rng.integers(0, 100, n), "entities": rng.integers(1, 30, n),
        "rows": rng.integers(1, 60, n), "cellkey": rng.integers(0, 2**62, n).astype(np.uint64),
    })
    cells = Cells(keys=["k0", "k1"], measures=[Measure("m0", "rows", "count(*)")])
    with pytest.raises(QueryTimeout, match="over the 0 s limit"):
        check(stats, cells, Disclosure(), secret=1, deadline=Deadline(0))
    assert check(stats, cells, Disclosure(), secret=1, deadline=Deadline(60)).table.num_rows > 0


def test_a_timed_out_query_frees_its_core_and_others_are_answered_meanwhile(narrow):
    outcome = {}

    def slow():
        try:
            narrow.session("bob", ["researchers"]).sql(SLOW)
        except QueryTimeout as e:
            outcome["slow"] = e.reason

    thread = threading.Thread(target=slow)
    thread.start()
    answered = 0
    while thread.is_alive() and answered < 5:
        narrow.session("alice", ["researchers"]).sql("SELECT gender, count(*) AS n FROM card_usage GROUP BY 1")
        answered += 1
    thread.join(timeout=60)
    assert not thread.is_alive(), "the slow query was cancelled"
    assert "over the 3 s limit" in outcome["slow"]
    assert answered >= 1, "another researcher's query was answered while the slow one ran"
