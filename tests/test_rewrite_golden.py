"""Golden files of the rewrite: SQL in, the statistics query and the rewritten SQL out.

Each ``tests/golden/rewrite/*.sql`` holds a session, the query as a researcher wrote it,
and what the gateway runs for it, so a change to a rewrite rule shows up as a diff that
reviewers can read. The test only compares; after a deliberate change,
``.venv/bin/python tests/test_rewrite_golden.py`` writes the files anew (review the diff).
Each file names the engine whose SQL it holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from campus import catalog
from campus.gateway.analyse import analyse
from campus.engines.duckdb import DuckDBEngine
from campus.engines.spark import SparkEngine
from campus.gateway.session import Session, rewrite
from campus.policy import load_policy
from campus.settings import Settings

GOLDEN = Path(__file__).parent / "golden" / "rewrite"
SETTINGS = Settings()


class Demo:
    """The demo catalog and policy, with the data files named, not read."""

    catalog = catalog.load(SETTINGS.catalog_path)
    policy = load_policy(SETTINGS)
    sealed = True  # as a campus of sealed sessions answers: the project's rows of people are rewritten too


def files_of(dataset) -> list[Path]:
    return [Path(f"/data/{dataset.name}/month=2025-01/part-0.parquet")]


ENGINES = {"duckdb": DuckDBEngine, "spark": SparkEngine}  # the engines' SQL, by the name a file's header gives


def pretty(sql: str, dialect: str) -> str:
    return sqlglot.transpile(sql, read=dialect, write=dialect, pretty=True)[0]


def render(header: dict, sql: str) -> str:
    engine = ENGINES[header["engine"]]
    session = Session(Demo, header["user"], header["groups"].split(","), header.get("project") or None)
    plan = session.decide(analyse(sql, Demo.catalog))
    rewrite(plan, plan.query.fresh(Demo.catalog), files_of, engine)
    parts = [f"-- engine: {header['engine']}", f"-- user: {header['user']}", f"-- groups: {header['groups']}"]
    if header.get("project"):
        parts.append(f"-- project: {header['project']}")
    parts += ["-- in", sql.strip()]
    for guarded in plan.aggregates:
        aggregate = guarded.aggregate
        parts += [f"-- cells {aggregate.checked_name} of {aggregate.dataset.name}",
                  pretty(guarded.statistics, engine.dialect)]
        if guarded.domain:
            parts += [f"-- public keys of {aggregate.checked_name}", pretty(guarded.domain, engine.dialect)]
    parts += ["-- out", pretty(plan.sql, engine.dialect)]
    return "\n".join(parts) + "\n"


def read(path: Path) -> tuple[dict, str]:
    header, lines, section = {}, [], None
    for line in path.read_text().splitlines():
        if line.startswith("-- ") and ": " in line and section is None:
            key, value = line[3:].split(": ", 1)
            header[key] = value
        elif line == "-- in":
            section = "in"
        elif line.startswith("-- "):
            break
        elif section == "in":
            lines.append(line)
    return header, "\n".join(lines)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.sql")), ids=lambda p: p.stem)
def test_rewrite_matches_golden_file(path):
    header, sql = read(path)
    assert render(header, sql) == path.read_text(), (
        f"{path.name} no longer matches the rewrite: review the change, then `.venv/bin/python "
        "tests/test_rewrite_golden.py` writes the files anew")


def test_there_are_golden_files():
    assert len(list(GOLDEN.glob("*.sql"))) >= 8


if __name__ == "__main__":  # write the golden files anew from the current rewrite
    for golden in sorted(GOLDEN.glob("*.sql")):
        golden.write_text(render(*read(golden)))
        print(f"wrote {golden}")
