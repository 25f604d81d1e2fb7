"""The notebook templates (notebooks/templates/), run as a researcher runs them.

Each template is copied into every new home, so each must run top to bottom for alice: in a
real IPython kernel (nbclient), whose environment holds only the live data service's URL and a
token issued to alice by the real token store, so every query goes through the service. After
the last cell a probe cell reads the kernel's variables, and the tests check what came back.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import campus
from campus import catalog
from campus.service.auth import TokenAuthenticator
from campus.service.server import app_for
from campus.service.tokens import TokenStore
from campus.settings import Settings
from databases import fresh_database

pytest_plugins = ["service_fixtures"]

TEMPLATES = Path(__file__).resolve().parents[1] / "notebooks" / "templates"
EXPORT_TEMPLATE = "request_an_export"
KERNEL_CAMPUS_ENV = ["CAMPUS_API_TOKEN", "CAMPUS_SERVICE_URL"]  # and no other CAMPUS_* variable

# What the probe cell reads from the kernel after each template ran (a JSON-able expression).
ENVIRONMENT = "sorted(k for k in os.environ if k.startswith(('CAMPUS_', 'JUPYTERHUB_')))"
PROBES = {
    "card_usage": """{
        "columns": spending.arrow().column_names, "rows": len(spending), "cells": spending.report.cells,
        "grant": spending.decisions[0]["grant"], "complete_categories": len(shares),
        "magic_rows": len(cafe_hours), "magic_is_result": isinstance(cafe_hours, type(spending)),
        "explained": decision.allow}""",
    "sales_by_location": """{
        "grant": monthly.decisions[0]["grant"], "months": len(monthly), "row_filter": decision.row_filter,
        "min_entities": decision.disclosure.min_entities, "industries": len(industries),
        "withheld": industries.pl()["sales"].null_count(), "released": len(released)}""",
    "air_quality": """{
        "grant": seasons.decisions[0]["grant"], "march_hours": len(march), "days": daily.height,
        "seasons": len(seasons), "capped": len(everything), "notes": everything.notes}""",
    EXPORT_TEMPLATE: """{
        "id": request.id, "sql": sql, "status": request.status, "page": request.page,
        "listed": campus.exports()["id"].to_list(), "figure_id": figure_request.id,
        "figure_status": figure_request.status, "figure_withheld": by_district.pl()["spending"].null_count(),
        "bars": len(figure.axes[0].patches), "released": by_district.pl()["spending"].drop_nulls().len()}""",
}


def templates() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.ipynb"))


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(TEMPLATES / f"{name}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def data_service(demo_data, tmp_path_factory):
    """The data service over the demo data (on SQLite: the templates exercise the client, not the store)."""
    from service_fixtures import Service, serving  # imported here: pytest loads it as a plugin

    folder = tmp_path_factory.mktemp("templates-service")
    with fresh_database("sqlite", folder) as database:
        cx = campus.open(data_dir=demo_data, state_dir=folder / "state", db_url=database)
        tokens = TokenStore(cx.audit.engine)
        with serving(app_for(cx, TokenAuthenticator(tokens, cx.policy))) as url:
            yield Service(url, cx, tokens, database)
        cx.close()


@pytest.fixture(scope="module")
def alice_token(data_service) -> str:
    return data_service.token("alice")  # her groups and projects come from hub/users.yaml


@pytest.fixture(scope="module")
def executed(data_service, alice_token, tmp_path_factory):
    """`executed(name)`: the template run once in a kernel as alice -> (notebook, probed values)."""
    home = tmp_path_factory.mktemp("home")
    (home / "templates").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPUS_", "JUPYTERHUB_"))}
    env.pop("MPLBACKEND", None)  # the kernel's own: inline, as in a campus notebook (Agg would show no figure)
    env |= {"CAMPUS_SERVICE_URL": data_service.url, "CAMPUS_API_TOKEN": alice_token, "HOME": str(home)}
    done: dict[str, tuple[nbformat.NotebookNode, dict]] = {}

    def execute(name: str) -> tuple[nbformat.NotebookNode, dict]:
        if name not in done:
            done[name] = run(read(name), env, cwd=home / "templates", probe=PROBES.get(name, "{}"))
        return done[name]

    return execute


def run(nb: nbformat.NotebookNode, env: dict[str, str], cwd: Path, probe: str) -> tuple[nbformat.NotebookNode, dict]:
    """Run every cell of `nb` in a new kernel (a cell's error fails the test with its traceback),
    then the probe; returns the executed notebook and what the probe read."""
    cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json, os\nprint(_json.dumps({{'environment': {ENVIRONMENT}, **{probe}}}, default=str))"))
    client = NotebookClient(nb, kernel_name="python3", timeout=120, startup_timeout=60,
                            resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    probe_cell = nb.cells.pop()
    assert len(nb.cells) == cells
    return nb, json.loads(printed(probe_cell))


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


# --- every template ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", templates())
def test_every_cell_runs_in_a_kernel_through_the_service(executed, name):
    nb, probed = executed(name)
    assert probed["environment"] == KERNEL_CAMPUS_ENV  # nothing that would open data in-process
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors


def test_every_dataset_in_the_catalog_has_a_template():
    datasets = set(catalog.load(Settings().catalog_path).datasets)
    assert datasets - set(templates()) == set(), "add a template to notebooks/templates/ for each new dataset"
    assert EXPORT_TEMPLATE in templates()
    for name in datasets:
        assert f'campus.describe("{name}"' in "".join(c.source for c in read(name).cells), name


@pytest.mark.parametrize("name", templates())
def test_templates_are_stored_clean(name):
    """No outputs or execution counts (they are copied into every home), an introduction first."""
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        assert "execution" not in cell.metadata, cell.source[:60]  # nbclient's timings
    assert "import campus" in "".join(c.source for c in nb.cells)


# --- what each template gets back -------------------------------------------------------------


def test_card_usage_answers_with_checked_aggregates(executed):
    nb, probed = executed("card_usage")
    assert probed["rows"] > 0 and probed["columns"][0] == "district" and 0 < probed["cells"] <= probed["rows"]
    assert probed["grant"] == "researchers-card-usage"
    assert probed["complete_categories"] > 0
    assert probed["magic_rows"] > 0 and probed["magic_is_result"]  # the %%sql cell stored a Result
    refusal = next(cell for cell in nb.cells if cell.cell_type == "code" and "except (" in cell.source)
    assert "Denied - column card_id is an identifier" in printed(refusal) and probed["explained"] is True


def test_sales_by_location_runs_under_the_project_grant(executed):
    _, probed = executed("sales_by_location")
    assert probed["grant"] == "gangnam-retail-sales"
    assert probed["row_filter"] == {"district": ["Gangnam-gu"]} and probed["min_entities"] == 20
    assert probed["months"] > 0 and probed["industries"] > 0 and probed["withheld"] > 0 and probed["released"] > 0


def test_air_quality_reads_rows_up_to_the_cap(executed):
    _, probed = executed("air_quality")
    assert probed["grant"] == "researchers-air-quality"
    assert probed["march_hours"] == 31 * 24 and probed["days"] == 31
    assert probed["seasons"] == 25 * 4
    assert probed["capped"] == 50_000 and any("row cap" in note for note in probed["notes"])


def test_the_export_template_opens_a_request_for_alice(executed, data_service, alice_token):
    _, probed = executed(EXPORT_TEMPLATE)
    with data_service.client(alice_token) as api:
        request = api.get(f"exports/{probed['id']}").json()
        mine = [r["id"] for r in api.get("exports", params={"view": "mine"}).json()["requests"]]
    assert request["requester"] == "alice" and request["kind"] == "table"
    assert request["status"] in ("submitted", "needs_review") and request["status"] == probed["status"]
    assert request["sql"] == probed["sql"] and request["report"]["cells"] > 0
    assert probed["id"] in mine and probed["id"] in probed["listed"]
    assert probed["page"] == f"{data_service.url}airlock/{probed['id']}"


def test_the_export_template_draws_a_figure_and_sends_it_to_a_reviewer(executed, data_service, alice_token):
    nb, probed = executed(EXPORT_TEMPLATE)
    plotted = next(cell for cell in nb.cells if cell.cell_type == "code" and "campus.plot(" in cell.source)
    images = [o for o in plotted.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the notebook shows the figure once"
    assert base64.b64decode(images[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert probed["bars"] == probed["released"] > 0  # one bar per released value
    with data_service.client(alice_token) as api:
        request = api.get(f"exports/{probed['figure_id']}").json()
        download = api.get(f"exports/{probed['figure_id']}/download")
    assert request["kind"] == "file" and request["filename"] == "spending_by_district.png"
    assert request["report"]["kind"] == "PNG" and request["content_bytes"] > 10_000
    assert request["status"] == probed["figure_status"] == "needs_review"  # a figure always waits for a reviewer
    assert download.status_code != 200, "not released: the figure stays in the campus"
