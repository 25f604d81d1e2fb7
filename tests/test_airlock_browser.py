"""The airlock's review pages in a real browser, through a real hub and the real data service.

The hub (``hub/jupyterhub_config.py``) runs `campus serve` as its managed service; alice
makes two export requests with a token the hub issued; sejin, a steward, signs in to the
hub with her campus password, opens the review pages (the service signs her in through
the hub's OAuth), approves and releases one request and rejects the other; alice signs
in and downloads the released table, and cannot download the rejected one.

A steward's day starts at the hub's home page: its link leads to the campus's front page,
from there to the guide and the review queue, where the next step and its decision sit
above the table; the requester's list says what changed; the hub's admin page offers no
"Add Users".
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import campus
from campus.hub.passwords import Passwords
from campus.service.browser import COOKIE
from test_hub import running_hub
from test_hub_service import mint, service_url, wait_for_service

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path("/tmp/airlock-review-page.png")
BY_DISTRICT = (
    "SELECT district, category, count(*) AS n, sum(amount) AS total FROM card_usage GROUP BY ALL ORDER BY 1, 2"
)
BY_DONG = "SELECT dong, count(*) AS n FROM card_usage GROUP BY 1"
PASSWORDS = {"alice": "alice-long-passphrase", "sejin": "sejin-long-passphrase", "admin": "admin-long-passphrase",
             "bob": "bob-long-passphrase"}


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
    assert "Big Data Campus" in page.locator("#campus-welcome").inner_text()  # the campus says what it is
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
    page.click("button.approve")  # the one reviewer's approval releases it: "Approve and release to alice"
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


# --- a steward's way around ---------------------------------------------------------------------


def shot(page, name: str) -> None:
    page.screenshot(path=f"/tmp/stewards-{name}.png", full_page=True)


def test_a_steward_goes_from_the_hub_to_the_queue_and_approves_and_releases_in_one_place(hub, browser):
    alice_token = mint(hub, "alice", ["access:services!service=data"]).json()["token"]
    request = export(hub, alice_token, BY_DISTRICT, "spending-for-the-council")
    campus_root = hub.url + "services/data/"

    alice, alices_page = signed_in_page(browser, hub, "alice")
    alices_page.goto(campus_root + "airlock")  # alice looks at her requests before the decision
    alices_page.wait_for_url(campus_root + "airlock")
    assert alices_page.locator("#changes").count() == 0

    context, page = signed_in_page(browser, hub, "sejin")
    link = page.locator("#campus-link")
    assert link.is_visible(), "the hub's home page links the campus"
    shot(page, "hub-home")
    link.click()
    page.wait_for_url(campus_root)  # signed in to the service through the hub, and back
    shot(page, "home")
    assert page.locator("h1").inner_text() == "Big Data Campus"
    for text, lands in [("The SQL guide", "guide"), ("Disclosure budgets", "budget"), ("The review queue", "airlock")]:
        assert page.locator(f"#links a:has-text('{text}')").get_attribute("href") == f"/services/data/{lands}"
    page.click("#links a:has-text('The SQL guide')")
    page.wait_for_url(campus_root + "guide")
    assert "The campus SQL guide" in page.locator("h1").first.inner_text()
    page.click("header a:has-text('Campus')")
    page.click("#links a:has-text('Disclosure budgets')")
    page.wait_for_url(campus_root + "budget")
    assert page.locator("h1").inner_text() == "Your budgets and limits"
    page.click("header a:has-text('Campus')")
    page.click("#links a:has-text('The review queue')")
    page.wait_for_url(campus_root + "airlock")
    page.click(f"a[href$='/airlock/{request['id']}'] >> nth=0")
    page.wait_for_url(f"{campus_root}airlock/{request['id']}")

    next_step = page.locator("#next-step")
    assert next_step.locator("h2").inner_text() == "Next step: your decision"
    approve = next_step.locator("button.approve")
    assert approve.inner_text() == "Approve and release to alice"
    table_top = page.locator("table").first.bounding_box()["y"]
    assert next_step.bounding_box()["y"] < table_top, "the decision sits above the table"
    assert approve.bounding_box()["y"] < page.viewport_size["height"], "and is on the first screen"
    assert page.locator("button.release").count() == 0, "no separate release step for the last reviewer"
    shot(page, "review")
    page.fill("#comment", "District totals: fine to release.")
    approve.click()
    page.wait_for_selector(".status.released")
    assert "Final: the requester can download it" in page.locator("#next-step").inner_text()
    shot(page, "released")
    session = next(c for c in context.cookies() if c["name"] == COOKIE)
    assert session["sameSite"] == "Strict" and session["httpOnly"] and session["path"] == "/services/data/", (
        "under the hub's prefix the cookie keeps to the service's path: Path=/ (as __Host- needs) would hand it "
        "to every user's notebook server on the hub's origin")
    page.goto(campus_root + "airlock")
    page.wait_for_url(campus_root + "airlock")  # the hub sign-in's session holds from page to page until sign-out
    page.click("header button.sign-out")
    page.wait_for_selector("text=You are signed out of the export requests.")
    context.close()

    alices_page.goto(campus_root + "airlock")
    changes = alices_page.locator("#changes")
    assert changes.is_visible() and "released" in changes.inner_text() and "sejin" in changes.inner_text()
    shot(alices_page, "changes")
    alice.close()


def test_the_hub_admin_page_sends_admins_to_the_provisioning_file(hub, browser):
    context, page = signed_in_page(browser, hub, "admin")
    page.goto(hub.url + "hub/admin")
    page.wait_for_selector("text=Edit User >> nth=0", timeout=30_000)  # the admin app has rendered its table
    note = page.locator("#campus-add-users")
    assert note.is_visible() and "campus users add" in note.inner_text()
    assert page.locator(".add-users-button").count() == 1, "the hub's button is there (so hiding it is tested)"
    assert not page.locator(".add-users-button").is_visible(), "and hidden"
    shot(page, "admin")
    context.close()


def test_jupyterlab_has_a_campus_menu_of_the_campus_pages(hub, browser):
    context, page = signed_in_page(browser, hub, "bob", lands=re.compile(r"/user/bob/lab"), seconds=180)
    page.locator("#jp-MainMenu >> text=Campus").click(timeout=120_000)
    items = page.locator(".lm-Menu-itemLabel")
    labels = [items.nth(i).inner_text() for i in range(items.count())]
    assert labels[:4] == ["Campus home", "The SQL guide", "Export requests", "Disclosure budgets"], labels
    shot(page, "lab-menu")
    with context.expect_page() as opened:
        page.locator(".lm-Menu-itemLabel:text-is('Campus home')").click()
    campus_tab = opened.value
    campus_tab.wait_for_url(hub.url + "services/data/", timeout=60_000)  # a new tab, signed in through the hub
    assert campus_tab.locator("h1").inner_text() == "Big Data Campus"
    context.close()


def test_a_reviewer_pages_through_a_whole_table_and_sees_the_figure_that_leaves(cx, browser, tmp_path):
    """Issue 24, without a hub: the review pages of a long table file and a dressed PNG, in Chromium."""
    from campus.airlock import Airlock, SqlExportStore
    from campus.audit import AuditLog
    from export_files import aggregate, png, with_hidden
    from service_fixtures import serving
    from test_airlock_web import ALICE, SEJIN, make_app, signed

    audit = AuditLog(f"sqlite:///{tmp_path / 'campus.db'}")
    airlock = Airlock(cx, SqlExportStore(audit.engine, tmp_path / "store"))
    rows = 1_234
    table = aggregate(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    long = airlock.export_file(ALICE, "long.parquet", sink.getvalue(), audit=audit)
    figure = airlock.export_file(ALICE, "map.png", with_hidden(png(9, (64, 64)), b"C000123" * 300, b"tail"),
                                 audit=audit)
    with serving(make_app(airlock, audit)) as url:
        context = browser.new_context(extra_http_headers=signed(SEJIN))
        page = context.new_page()
        page.goto(f"{url}airlock/{long.id}")
        shown = []
        for number in range(1, 4):
            if number > 1:
                page.locator("nav.pages").first.get_by_role("link", name=str(number), exact=True).click()
                page.wait_for_url(f"**page={number}#table")
            assert page.locator("nav.pages strong").first.inner_text() == str(number)
            shown += page.locator(".scroll table tr td:first-child").all_inner_texts()
        assert shown == table.column("district").to_pylist(), "every row, once, in order, over three pages"
        page.goto(f"{url}airlock/{figure.id}")
        image = page.locator("img.preview")
        image.wait_for()
        assert page.evaluate("document.querySelector('img.preview').naturalWidth") == 64
        seen = page.request.get(f"{url}airlock/{figure.id}/content").body()
        assert seen == airlock.store.read_content("file", figure.content_sha256) and b"C000123" not in seen
        context.close()
    audit.close()
