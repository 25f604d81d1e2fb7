"""The cell key is a documented function, not an engine's hash: every engine computes it
bit-for-bit as `extractguard.noise.share` defines it, so a cell gets the same noise
whichever engine counted it."""

from __future__ import annotations

from importlib import import_module

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from campus.engines import ENGINES
from campus.engines.duckdb import DuckDBEngine
from campus.gateway.analyse import analyse
from campus.gateway.session import NOISE_KEY
from extractguard import noise
from extractguard.cells import Stat

ENTITY_IDS = st.one_of(st.none(), st.text(max_size=40), st.integers(-(2**63), 2**63 - 1))


def duckdb_shares(pairs: list[tuple[str | int | None, int]]) -> list[int]:
    """The DuckDB engine's share expression, run over `pairs` as text or as BIGINT ids."""
    integers = all(isinstance(e, int) or e is None for e, _ in pairs)
    expression = DuckDBEngine.cell_key(exp.column("entity"), exp.column("records")).sql("duckdb")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (i INTEGER, entity {'BIGINT' if integers else 'VARCHAR'}, records BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(i, None if e is None else (e if integers else str(e)), r) for i, (e, r) in enumerate(pairs)])
    return [key for (key,) in con.execute(f"SELECT {expression} FROM t ORDER BY i").fetchall()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ENTITY_IDS, st.integers(1, 10**9)), min_size=1, max_size=20))
def test_duckdb_computes_the_documented_share_bit_for_bit(pairs):
    assert duckdb_shares(pairs) == [noise.share(e, r) for e, r in pairs]


def test_the_share_is_md5_of_entity_and_records_read_little_endian():
    import hashlib

    digest = hashlib.md5(b"C000123:4").digest()
    assert noise.share("C000123", 4) == int.from_bytes(digest[:8], "little")
    assert noise.share(None, 4) == int.from_bytes(hashlib.md5(b"4").digest()[:8], "little")  # no id: no "id:"
    assert noise.share(12, 3) == noise.share("12", 3)  # an integer id is read as its decimal text


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_says_how_it_computes_the_share(name):
    module, _, cls = ENGINES[name].partition(":")
    engine = getattr(import_module(module), cls)
    sql = engine.cell_key(exp.column("e"), exp.column("r")).sql(engine.dialect).lower()
    assert "hash(" not in sql.replace("md5", ""), "an engine's own hash would give other engines' cells other noise"


def test_signed_keys_from_an_engine_mean_the_same_bits():
    keys = np.array([noise.share("a", 1), noise.share("b", 2)], dtype=np.uint64)
    assert (noise.as_unsigned(keys.view(np.int64)) == keys).all()
    u = noise.uniform(noise.as_unsigned(keys.view(np.int64)), secret=9, salt=1)
    assert (u == noise.uniform(keys, secret=9, salt=1)).all()


def test_a_cells_key_is_the_xor_of_its_cardholders_shares(cx, raw):
    """The gateway's own statistics query, run by the campus's engine, gives each district
    the key computed from the raw records in Python."""
    session = cx.session("alice", ["researchers"])
    plan = session.decide(analyse("SELECT district, count(*) AS n FROM card_usage GROUP BY district", cx.catalog))
    session.rewrite(plan)
    (guarded,) = plan.aggregates
    with cx.gateway.engine.cursor() as cursor:
        cells = cursor.arrow(guarded.statistics, small=True).to_pylist()
    records = raw.execute("SELECT district, card_id, count(*) FROM card_usage GROUP BY ALL").fetchall()
    expected: dict[str, int] = {}
    for district, card, count in records:
        expected[district] = expected.get(district, 0) ^ noise.share(card, count)
    got = {cell[next(k for k in cell if k.startswith("k"))]: cell[Stat.CELLKEY] for cell in cells}
    assert len(got) == len(expected) > 5
    assert {d: int(noise.as_unsigned(np.array([k]))[0]) for d, k in got.items()} == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(ENTITY_IDS.filter(lambda e: e is not None), min_size=1, max_size=20), st.integers(0, 2**62))
def test_duckdb_draws_each_entitys_noise_factor_as_documented(entities, secret):
    """An entity's draw and factor (in millionths) are the documented functions, bit for bit,
    with the noise key bound as a parameter, never written into the SQL."""
    from campus.gateway.statistics import factor_ppm

    key = noise.draw_key(secret, NOISE_KEY)
    draw = DuckDBEngine.draw(exp.column("entity"), "card_usage")
    sql = f"SELECT {draw.sql('duckdb')}, {factor_ppm(draw.copy(), 0.1, 0.2).sql('duckdb')} FROM t ORDER BY i"
    assert key not in sql
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, entity VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, str(e)) for i, e in enumerate(entities)])
    got = con.execute(sql, {"noise_key": key}).fetchall()
    expected = [noise.draw(key, "card_usage", str(e)) for e in entities]
    assert [d for d, _ in got] == expected
    assert [f for _, f in got] == [int(np.floor(noise.factor(d, 0.1, 0.2) * 1_000_000 + 0.5)) for d in expected]
