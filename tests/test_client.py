"""The notebook client against the live service: what a researcher types, and what comes back."""

from __future__ import annotations

import time

import pandas as pd
import polars as pl
import pytest

import campus
from campus import client
from campus.client import progress
from campus.policy import Decision
from campus.service import create_app
from campus.service.auth import TokenAuthenticator
from campus.service.errors import InvalidToken

pytest_plugins = ["service_fixtures"]

TOTALS = "SELECT district, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY district ORDER BY district"
HUB_ENV = ("CAMPUS_SERVICE_URL", "CAMPUS_API_TOKEN", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_BASE_URL")


@pytest.fixture
def notebook(service, monkeypatch):
    """A kernel's environment: the service's URL and alice's token, nothing else."""
    for name in HUB_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAMPUS_SERVICE_URL", service.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", service.token("alice"))
    yield service


def test_campus_sql_gives_the_result_the_gateway_gives(notebook):
    r = campus.sql(TOTALS)
    in_process = notebook.campus.session("alice", ["researchers"]).sql(TOTALS)
    assert isinstance(r, campus.Result) and r.arrow().equals(in_process.arrow())
    assert isinstance(r.pl(), pl.DataFrame) and isinstance(r.df(), pd.DataFrame) and r.pl().height == 25
    assert r.report.cells == 25 and r.report.notes == in_process.report.notes
    assert r.export_rule == "review" and "<table" in r._repr_html_()


def test_error_bars_and_the_budget_cross_http_as_they_are(notebook):
    """report.errors comes back with its keys' own types (days as days), so with_errors()
    joins them; campus.budget() shows where alice stands."""
    sql = ("SELECT district, date_trunc('month', txn_date) AS month, sum(amount) AS total "
           "FROM card_usage WHERE district = 'Jung-gu' GROUP BY ALL ORDER BY ALL")
    r = campus.sql(sql)
    in_process = notebook.campus.session("alice", ["researchers"]).sql(sql)
    assert r.report.errors.equals(in_process.report.errors), "the same bars, the same key types"
    shown = r.with_errors()
    assert shown.columns == ["district", "month", "total", "±total"] and shown["±total"].null_count() == 0
    assert "95% error bars" in repr(r.report) and r.report.measures == in_process.report.measures
    assert r.report.measures["total"].unit == "KRW", "what each column measures crosses HTTP with the report"
    table = repr(r).split("\nnote: ")[0]  # the notes say what each charged, which differs
    assert table == repr(in_process).split("\nnote: ")[0] and "total (KRW)" in table and " ± " in table
    budget = campus.budget().pl()
    mine = budget.filter((pl.col("dataset") == "card_usage") & (pl.col("scope") == "user:alice"))
    assert mine.height == 1 and mine["spent"][0] >= 12 and mine["limit"][0] == 100_000
    assert mine["left"][0] == 100_000 - mine["spent"][0] and budget.null_count().sum_horizontal()[0] == 0


def test_datasets_describe_and_explain(notebook):
    listed = campus.datasets()
    assert set(listed["name"]) == {"card_usage", "sales_by_location", "air_quality"}
    card = campus.describe("card_usage")
    assert card.mode == "aggregates" and card.entity == "card_id"
    assert card.columns.filter(pl.col("name") == "amount")["unit"].to_list() == ["KRW"]
    assert "card_usage" in repr(card) and "<table" in card._repr_html_()
    refused = campus.explain("card_usage", ["card_id"])
    assert isinstance(refused, Decision) and not refused.allow and "identifier" in refused.reason
    assert campus.explain("sales_by_location", ["district"], project="gangnam-retail").grant == "gangnam-retail-sales"


# (what the researcher does, the exception, words of the server's reason)
REFUSALS = [
    (lambda: campus.sql("SELECT card_id, amount FROM card_usage"), campus.Denied, "aggregates"),
    (lambda: campus.sql("SELECT 1; SELECT 2"), campus.QueryRejected, "one"),
    (lambda: campus.sql(TOTALS, project="nope"), campus.Denied, "no project nope"),
    (lambda: campus.describe("secrets"), campus.CampusError, "no dataset"),
]


@pytest.mark.parametrize("call,error,says", REFUSALS, ids=["denied", "rejected", "no project", "no dataset"])
def test_refusals_are_the_gateways_exceptions_with_the_servers_reason(notebook, call, error, says):
    with pytest.raises(error) as raised:
        call()
    assert says in raised.value.reason


def test_a_bad_token_or_no_service_says_what_to_do(notebook, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "campus_0123456789ab_" + "x" * 43)
    with pytest.raises(InvalidToken, match="not valid"):
        campus.sql(TOTALS)
    monkeypatch.setenv("CAMPUS_SERVICE_URL", "http://127.0.0.1:9/")
    with pytest.raises(client.ServiceUnreachable, match="did not answer"):
        campus.datasets()
    monkeypatch.delenv("CAMPUS_SERVICE_URL")
    with pytest.raises(client.ServiceUnreachable, match="CAMPUS_SERVICE_URL"):
        campus.datasets()


def test_inside_the_hub_the_kernel_uses_the_hub_token_and_the_url_the_hub_set(service, monkeypatch, serve):
    """In a hub session the hub sets CAMPUS_SERVICE_URL (under its prefix) and the server's token."""
    app = create_app(service.campus, TokenAuthenticator(service.tokens, service.campus.policy), prefix="/services/data/")
    with serve(app) as url:
        for name in HUB_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CAMPUS_SERVICE_URL", url + "services/data/")
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", service.token("bob"))
        assert client.default().me()["user"] == "bob"
        assert campus.sql("SELECT gender, count(*) AS n FROM card_usage GROUP BY 1").pl().height == 2


def test_sql_cell_magic(notebook):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "campus")
        shown = shell.run_cell_magic("sql", "--project gangnam-retail sales", "SELECT industry, sum(sales_amount) "
                                     "AS total FROM sales_by_location GROUP BY 1")
        assert shell.user_ns["sales"] is shown and shown.decisions[0]["grant"] == "gangnam-retail-sales"
        assert shell.run_line_magic("sql", "SELECT hour, count(*) AS n FROM card_usage GROUP BY 1").pl().height == 24
    finally:
        InteractiveShell.clear_instance()


def test_in_a_notebook_a_refusal_shows_its_reason_without_a_traceback(notebook, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import campus")
        ran = shell.run_cell("campus.sql('SELECT card_id, sum(amount) AS s FROM card_usage GROUP BY card_id')")
        assert isinstance(ran.error_in_exec, campus.Denied)  # still an exception: code can catch it
        shown = capsys.readouterr()
        assert "Denied: " in shown.err and "identifier" in shown.err
        assert "Traceback" not in shown.out + shown.err
    finally:
        InteractiveShell.clear_instance()


def returned(service, request_id: int, comment: str) -> None:
    """A steward (sejin, over the API) returns a request to its requester."""
    with service.client(service.token("sejin")) as steward:
        answer = steward.post(f"exports/{request_id}/review", json={"decision": "return", "comment": comment})
    assert answer.status_code == 200, answer.text


def test_a_file_is_checked_named_resubmitted_and_withdrawn_from_the_notebook(notebook, tmp_path):
    from campus.airlock import InvalidExport

    table = tmp_path / "cards.csv"
    table.write_text("district,cards\nGangnam-gu,25\nJung-gu,3\n")
    request = campus.export_file(table, "table 3 of the paper", name="cards-by-district")
    assert (request.name, request.status) == ("cards-by-district", "needs_review")
    assert [f.split(":")[0] for f in request.flags] == ["small counts", "rounding"]
    assert "flagged: small counts: 1 row holds counts from 1 to 19 in cards" in repr(request)
    assert "Jung-gu" not in repr(request), "the report never quotes the file"

    ids = tmp_path / "ids.csv"
    ids.write_text("card_id,cards\nC0001,25\n")
    with pytest.raises(InvalidExport, match="card_id is named like an identifier column") as refused:
        campus.export_file(ids)
    assert "campus.export(sql, name)" in refused.value.reason and "C0001" not in refused.value.reason

    returned(notebook, request.id, "withhold the count under 20")
    table.write_text("district,cards\nGangnam-gu,25\n")
    again = campus.resubmit(request.id, "table 3, small count withheld", path=table)
    assert (again.id, again.status, again.flags) == (request.id, "needs_review", [])
    assert "nothing flagged" in again.report["summary"]

    returned(notebook, request.id, "not needed after all?")
    gone = campus.withdraw(request.id, "yes, dropped from the paper")
    assert (gone.status, gone.reason) == ("withdrawn", "yes, dropped from the paper")
    assert campus.exports().filter(pl.col("id") == request.id)["status"].to_list() == ["withdrawn"]


def test_a_returned_table_is_resubmitted_with_a_new_query_from_the_notebook(notebook):
    request = campus.export("SELECT gender, count(*) AS n FROM card_usage GROUP BY 1", "by-gender")
    returned(notebook, request.id, "by age band instead")
    again = campus.resubmit(request.id, sql="SELECT age_band, count(*) AS n FROM card_usage GROUP BY 1")
    assert (again.id, again.status) == (request.id, "needs_review")
    with pytest.raises(campus.CampusError, match="is needs_review, so it cannot be withdrawn"):
        campus.withdraw(request.id)


def test_a_long_query_shows_its_elapsed_time(monkeypatch):
    shown = []

    class Recorder:
        def show(self, seconds):
            shown.append(seconds)

        def close(self, seconds):
            shown.append("closed")

    monkeypatch.setattr(progress, "SHOW_AFTER", 0.05)
    monkeypatch.setattr(progress, "_display_kind", lambda: Recorder)
    assert client.waiting(lambda: time.sleep(0.7) or 42) == 42
    assert len(shown) >= 2 and shown[-1] == "closed" and shown[-2] >= 0.5
    with pytest.raises(campus.Denied):
        client.waiting(lambda: (_ for _ in ()).throw(campus.Denied("no")))


def test_each_error_code_belongs_to_one_class_and_a_second_claim_fails_at_definition():
    import pytest as _pytest

    from campus.errors import CampusError, NotFound, by_code
    from campus.airlock.errors import RequestNotFound

    assert by_code("not_found") is NotFound and issubclass(RequestNotFound, NotFound)
    with _pytest.raises(TypeError, match="error code 'denied' .* is already campus.errors.Denied's"):
        type("Denied", (CampusError,), {"code": "denied", "__module__": "elsewhere"})


def test_reading_a_decision_in_the_notebook_does_not_load_a_rego_engine():
    import subprocess
    import sys

    code = ("import sys, campus.client; from campus.policy import Decision; "
            "Decision.model_validate({'allow': False, 'reasons': ['no']}); "
            "print(sorted(m for m in sys.modules if m.startswith(('regopy', 'duckdb', 'campus.policy.engines'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
