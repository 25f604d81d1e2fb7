"""A researcher's day, end to end, in a real browser: the real hub, proxy, sandboxed spawner
and data service, the real notebook templates in JupyterLab.

alice signs in, her server starts in its sandbox with the templates in her home; she runs
the card-usage template and gets checked aggregates, then the export template, which
submits an export request. sejin, a steward, signs in and approves and releases it on the
review page. alice downloads it from the same page: the checked table, nothing else.
"""

from __future__ import annotations

import json
import os
import re

import duckdb
import nbformat
import pytest

import campus
from test_airlock_browser import browser  # noqa: F401 (a fixture)
from test_airlock_browser import PASSWORDS, download, give_passwords, signed_in_page
from test_hub import running_hub
from test_sandbox import sandbox_place

pytestmark = pytest.mark.slow

PREFIX = f"cse{os.getpid()}-"  # this test's own Unix accounts
FOLDERS = "/var/tmp/campus-e2e-"
LAB_SECONDS = 180_000  # ms: a first spawn, JupyterLab loading and a template running, on a busy machine


@pytest.fixture(scope="module")
def place(demo_data):
    with sandbox_place(demo_data, FOLDERS, [PREFIX + name for name in PASSWORDS]) as folder:
        yield folder


@pytest.fixture(scope="module")
def hub(place):
    with running_hub(place / "hub", CAMPUS_HUB_SPAWNER="sandbox", CAMPUS_HUB_DATA_SERVICE="true",
                     CAMPUS_DATA_DIR=str(place / "data"), CAMPUS_SANDBOX_HOMES_DIR=str(place / "homes"),
                     CAMPUS_SANDBOX_ACCOUNT_PREFIX=PREFIX) as running:
        give_passwords(running)
        yield running


def run_all_cells(page) -> None:
    """Run → Run All Cells in JupyterLab, and wait until every code cell has run."""
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=LAB_SECONDS)
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=LAB_SECONDS)  # kernel ready
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p));
        }""", timeout=LAB_SECONDS)


def run_template(page, hub, name: str, folder: str = "templates") -> list[str]:
    """Open a notebook in alice's JupyterLab, run all its cells, save it; the texts its cells put out."""
    path = f"{folder}/{name}.ipynb" if folder else f"{name}.ipynb"
    page.goto(hub.url + f"user/alice/lab/tree/{path}?reset", timeout=LAB_SECONDS)  # this one alone
    page.wait_for_url(re.compile(r"/user/alice/lab"), timeout=LAB_SECONDS)
    try:
        run_all_cells(page)
    except Exception:
        page.screenshot(path=f"/tmp/e2e-{name}.png")  # what JupyterLab showed
        raise
    page.keyboard.press("Control+s")
    page.locator(".lm-TabBar-tab.jp-mod-dirty").wait_for(state="detached", timeout=LAB_SECONDS)
    saved = page.context.request.get(hub.url + f"user/alice/api/contents/{path}")
    assert saved.status == 200, saved.text()
    outputs = [o for cell in saved.json()["content"]["cells"] for o in cell.get("outputs", [])]
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    assert errors == [], f"{name} failed in the notebook: {errors}"
    return ["".join(o.get("text") or o.get("data", {}).get("text/plain", "")) for o in outputs]


def test_alice_analyses_exports_and_downloads_what_sejin_released(hub, browser, place):  # noqa: F811
    # signing in starts her server and lands in JupyterLab, as for every researcher
    context, page = signed_in_page(browser, hub, "alice", lands=re.compile(r"/user/alice/lab"),
                                   seconds=LAB_SECONDS / 1000)
    outputs = run_template(page, hub, "card_usage")
    assert any("Gangnam-gu" in text for text in outputs), "no district totals came back"
    assert any("withheld" in text for text in outputs), "the disclosure report is not shown"

    said = "\n".join(run_template(page, hub, "request_an_export"))
    request_id = int(re.search(r"request (\d+) \(card_spending_by_district_month\) is (?:submitted|needs_review)",
                               said).group(1))
    context.close()

    airlock = hub.url + "services/data/airlock"
    context, page = signed_in_page(browser, hub, "sejin")
    page.goto(f"{airlock}/{request_id}")
    page.wait_for_url(f"{airlock}/{request_id}")
    page.fill("#comment", "District by month, small cells withheld: fine to release.")
    page.click("button.approve")  # the one reviewer's approval releases it
    page.wait_for_selector(".status.released")
    context.close()

    context, page = signed_in_page(browser, hub, "alice")
    downloaded = download(page, f"{airlock}/{request_id}", "card_spending_by_district_month.parquet")
    context.close()
    assert downloaded.column_names == ["district", "month", "cards", "±cards", "spending", "±spending"] and downloaded.num_rows > 0

    cx = campus.open(data_dir=place / "data", state_dir=hub.env["CAMPUS_STATE_DIR"])
    try:
        actions = [(e["actor"], e["action"], e["outcome"]) for e in cx.audit.events(limit=200)]
        assert ("alice", "export_downloaded", "ok") in actions
        assert any(actor == "sejin" and outcome == "released" for actor, _, outcome in actions)
        assert cx.audit.verify().ok
    finally:
        cx.close()


SEALED_ROWS = [  # a notebook of alice's in the gangnam-retail project: rows of people, in her sealed session
    """import campus
rows = campus.sql("SELECT card_id, merchant_id, txn_date, amount FROM card_usage LIMIT 5000",
                  project="gangnam-retail").pl()
print("rows", rows.height)""",
    """import json
regulars = rows.group_by("card_id").len().filter(rows.group_by("card_id").len()["len"] > 1)
print("cards", json.dumps(sorted(set(rows["card_id"]))[:50]))
print("regulars", regulars.height)""",
    """rows.write_csv("rows.csv")
try:
    campus.export_file("rows.csv", "the rows themselves")
except campus.CampusError as refused:
    print("refused", refused.reason)""",
]


def test_alice_follows_her_projects_cards_by_pseudonym_and_the_rows_stay_in(hub, browser, place):  # noqa: F811
    """The sealed-rows project in the browser: her notebook reads rows of card usage under
    gangnam-retail's rows grant, every card as the project's pseudonym; following a card
    across visits works; handing the rows to the airlock is refused."""
    context, page = signed_in_page(browser, hub, "alice", lands=re.compile(r"/user/alice/lab"),
                                   seconds=LAB_SECONDS / 1000)
    home = place / "homes" / f"{PREFIX}alice"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in SEALED_ROWS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, home / "sealed_rows.ipynb")
    os.chown(home / "sealed_rows.ipynb", home.stat().st_uid, home.stat().st_gid)
    said = "\n".join(run_template(page, hub, "sealed_rows", folder=""))
    context.close()

    assert re.search(r"^rows 5000$", said, re.M) and int(re.search(r"^regulars (\d+)$", said, re.M).group(1)) > 0
    cards = json.loads(re.search(r"^cards (.*)$", said, re.M).group(1))
    assert len(cards) == 50 and all(re.fullmatch(r"[0-9a-f]{32}", card) for card in cards)
    raw = set(duckdb.sql(f"SELECT DISTINCT card_id FROM read_parquet('{place}/data/card_usage/**/*.parquet')")
              .pl()["card_id"])
    assert not raw & set(cards) and not any(card in said for card in list(raw)[:2000])
    assert re.search(r"^refused .*card_id", said, re.M), said
