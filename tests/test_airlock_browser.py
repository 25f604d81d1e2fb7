"""The airlock's review pages in a real browser, through a real hub and the real data service.

The hub (``hub/jupyterhub_config.py``) runs `campus serve` as its managed service; alice
makes two export requests with a token the hub issued; sejin, a steward, signs in to the
hub with her campus password, opens the review pages (the service signs her in through
the hub's OAuth), approves and releases one request and rejects the other; alice signs
in and downloads the released table, and cannot download the rejected one.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import campus
from campus.hub.passwords import Passwords
from test_hub import running_hub
from test_hub_service import mint, service_url, wait_for_service

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path("/tmp/airlock-review-page.png")
BY_DISTRICT = (
    "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL ORDER BY 1, 2"
)
BY_DONG = "SELECT dong, count(*) AS n FROM card_usage GROUP BY 1"
PASSWORDS = {"alice": "alice-long-passphrase", "sejin": "sejin-long-passphrase"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, demo_data):
    folder = tmp_path_factory.mktemp("airlock-hub")
    with running_hub(folder, CAMPUS_HUB_DATA_SERVICE="true", CAMPUS_DATA_DIR=str(demo_data)) as running:
        give_passwords(running)
        wait_for_service(running)
        yield running


def give_passwords(hub) -> None:
    """The campus accounts' passwords (`PASSWORDS`), as an admin sets them."""
    passwords = Passwords(Path(hub.env["CAMPUS_HUB_STATE_DIR"]) / "passwords")
    for name, password in PASSWORDS.items():
        passwords.set(name, password)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (PyPI)")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ])
        yield launched
        launched.close()


def export(hub, token: str, sql: str, name: str) -> dict:
    made = httpx.post(service_url(hub) + "exports", json={"sql": sql, "name": name},
                      headers={"Authorization": f"token {token}"}, timeout=60)
    assert made.status_code == 201, made.text
    return made.json()


def signed_in_page(browser, hub, name: str, *, lands: str = "**/hub/home", seconds: float = 30):
    """A browser of its own, signed in to the hub as `name` with the login form; it waits until the
    browser `lands` (the hub's home page by default, which starts no notebook server)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(hub.url + ("hub/login?next=%2Fhub%2Fhome" if lands == "**/hub/home" else "hub/login"))
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORDS[name])
    page.click("#login_submit")
    page.wait_for_url(lands, timeout=seconds * 1000)
    return context, page


def download(page, url: str, filename: str) -> pa.Table:
    """Open a request's page as the signed-in user and download its released table."""
    page.goto(url)
    page.wait_for_url(url)
    with page.expect_download() as downloading:
        page.click(f"text=Download {filename}")
    return pq.ParquetFile(io.BytesIO(Path(downloading.value.path()).read_bytes())).read()


def test_a_steward_reviews_in_the_browser_and_the_requester_downloads_only_what_was_released(hub, browser,
                                                                                              demo_data):
    alice_token = mint(hub, "alice", ["access:services!service=data"]).json()["token"]
    good = export(hub, alice_token, BY_DISTRICT, "spending-by-district")
    bad = export(hub, alice_token, BY_DONG, "cards-by-dong")
    airlock = hub.url + "services/data/airlock"

    context, page = signed_in_page(browser, hub, "sejin")
    page.goto(airlock)  # not yet signed in to the service: the hub signs her in (OAuth) and sends her back
    page.wait_for_url(airlock)
    assert "sejin" in page.content()
    page.click(f"a[href$='/airlock/{good['id']}'] >> nth=0")
    page.wait_for_url(f"{airlock}/{good['id']}")
    assert page.locator("td.withheld").count() > 0  # suppressed cells are highlighted
    page.locator("td.withheld").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.fill("#comment", "Small cells are withheld; fine to release.")
    page.click("button.approve")
    page.wait_for_selector("button.release")
    page.click("button.release")
    page.wait_for_selector(".status.released")

    page.goto(f"{airlock}/{bad['id']}")
    page.click("button.reject")  # without a comment: the page says why it cannot
    assert "say why you reject it" in page.locator(".error").inner_text()
    page.fill("#comment", "Dong-level counts are too fine for an export; group by district.")
    page.click("button.reject")
    page.wait_for_selector(".status.rejected")
    stranger = context.request.get(f"{airlock}/{good['id']}/download")  # a steward cannot download it
    assert stranger.status == 403
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    session = cookies["campus-data-session"]
    assert not any(c.startswith("campus-data-token") for c in cookies), "no token is kept in a cookie"
    as_bearer = httpx.get(service_url(hub) + "exports", headers={"Authorization": f"token {session}"}, timeout=30)
    assert as_bearer.status_code in (401, 403), "the session cookie is no token for the API, on any port"
    context.close()

    context, page = signed_in_page(browser, hub, "alice")
    table = download(page, f"{airlock}/{good['id']}", "spending-by-district.parquet")
    assert table.column_names == ["district", "category", "n", "±n", "total", "±total"] and table.num_rows > 0

    page.goto(f"{airlock}/{bad['id']}")
    assert page.locator(".status.rejected").count() == 1 and page.locator("text=Download").count() == 0
    assert "group by district" in page.content()
    refused = context.request.get(f"{airlock}/{bad['id']}/download")
    assert refused.status == 409
    api_from_outside = context.request.get(hub.url + f"services/data/api/exports/{good['id']}",
                                           headers={"Authorization": f"token {alice_token}"})
    assert api_from_outside.status == 403  # the JSON API answers only inside campus sessions, not via the proxy
    context.close()

    cx = campus.open(data_dir=demo_data, state_dir=hub.env["CAMPUS_STATE_DIR"])
    try:
        downloads = [(e["actor"], e["outcome"], e["detail"]["request"])
                     for e in cx.audit.events(limit=50) if e["action"] == "export_downloaded"]
        assert ("alice", "ok", good["id"]) in downloads and ("alice", "refused", bad["id"]) in downloads
        assert ("sejin", "refused", good["id"]) in downloads
        assert cx.audit.verify().ok
    finally:
        cx.close()
