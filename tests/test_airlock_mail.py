"""The airlock tells people by e-mail when a request moves: a real mail server (aiosmtpd, its
own process, writing what it receives to a Maildir), a real campus whose provisioning file
gives e-mail addresses, the real airlock.

Who is told (campus/airlock/notify.py): reviewers when a request needs review (never its
requester), the requester when it is approved, rejected, returned or released.
"""

from __future__ import annotations

import logging
import mailbox
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import campus
from campus.airlock import Airlock, CampusUser, SqlExportStore, Status
from campus.settings import AirlockSettings
from service_fixtures import own_campus_root

ALICE = CampusUser("alice", ("researchers",))
SEJIN = CampusUser("sejin", ("stewards",))
JIWOO = CampusUser("jiwoo", ("stewards",))
BY_GENDER = "SELECT gender, count(*) AS n FROM card_usage GROUP BY 1"
PAGES = "http://campus.test/services/data/airlock"
EMAILS = {"alice": "alice@campus.test", "sejin": "sejin@campus.test", "jiwoo": "jiwoo@campus.test",
          "admin": "admin@campus.test"}  # bob has none


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory):
    """aiosmtpd in its own process, keeping every message in a Maildir; yields (port, maildir)."""
    maildir = tmp_path_factory.mktemp("mail") / "Maildir"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the mail server did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield port, maildir
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def mailed_campus(demo_data, tmp_path_factory):
    """The demo campus, but its provisioning file gives e-mail addresses (bob has none)."""
    def with_emails(users: dict) -> None:
        users["users"]["jiwoo"] = {"full_name": "Jiwoo Han", "groups": ["stewards"]}
        for name, email in EMAILS.items():
            users["users"][name]["email"] = email

    root = own_campus_root(tmp_path_factory.mktemp("campus-root"), with_emails)
    opened = campus.open(root, data_dir=demo_data, state_dir=tmp_path_factory.mktemp("state"))
    yield opened
    opened.close()


def airlock_on(cx, tmp_path: Path, **settings) -> Airlock:
    return Airlock(cx, SqlExportStore(cx.audit.engine, tmp_path / "store"),
                   AirlockSettings(pages_url=PAGES, **settings))


def received(maildir: Path) -> list:
    """Every message the server has kept so far, oldest first (it writes each before answering)."""
    box = mailbox.Maildir(maildir, create=False) if maildir.exists() else []
    return sorted(box, key=lambda m: (m.get_date(), m["Subject"])) if box else []


def test_each_move_tells_the_people_it_concerns(mailed_campus, mail_server, tmp_path):
    port, maildir = mail_server
    before = len(received(maildir))
    airlock = airlock_on(mailed_campus, tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                         smtp_from="airlock@campus.test")
    audit = mailed_campus.audit
    session = mailed_campus.session("alice", ["researchers"])
    request = airlock.export(session, BY_GENDER, "by-gender", "table 1", audit=audit)
    assert request.status is Status.NEEDS_REVIEW
    airlock.review(request.id, SEJIN, "return", "round the counts, please", audit=audit)
    airlock.resubmit(request.id, ALICE, description="rounded", audit=audit)
    again = airlock.get(request.id, SEJIN)
    airlock.review(request.id, SEJIN, "approve", audit=audit, release=True)

    mails = received(maildir)[before:]
    told = [(m["To"], m["Subject"]) for m in mails]
    subject = f"Export request {request.id} (by-gender) is"
    assert told == [
        ("jiwoo@campus.test, sejin@campus.test", f"{subject} needs review"),  # never alice, who asked
        ("alice@campus.test", f"{subject} returned"),
        ("jiwoo@campus.test, sejin@campus.test", f"{subject} needs review"),
        ("alice@campus.test", f"{subject} released"),  # approved and released in one step: one mail
    ], told
    returned = mails[1].get_payload()
    assert "round the counts, please" in returned and f"{PAGES}/{request.id}" in returned
    assert "campus.resubmit" in returned
    assert all(m["From"] == "airlock@campus.test" for m in mails)
    assert again.round == 2


def test_someone_without_an_address_is_not_mailed(mailed_campus, mail_server, tmp_path):
    port, maildir = mail_server
    airlock = airlock_on(mailed_campus, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    request = airlock.export(mailed_campus.session("bob", ["researchers"]), BY_GENDER, "bobs",
                             audit=mailed_campus.audit)
    before = len(received(maildir))
    airlock.review(request.id, SEJIN, "reject", "too fine", audit=mailed_campus.audit)
    assert len(received(maildir)) == before, "bob has no e-mail address: nobody is mailed about his rejection"


def test_no_mail_server_set_sends_nothing(mailed_campus, mail_server, tmp_path):
    port, maildir = mail_server
    before = len(received(maildir))
    airlock = airlock_on(mailed_campus, tmp_path)  # CAMPUS_AIRLOCK_SMTP_HOST unset
    request = airlock.export(mailed_campus.session("alice", ["researchers"]), BY_GENDER, "quiet",
                             audit=mailed_campus.audit)
    airlock.review(request.id, JIWOO, "reject", "no", audit=mailed_campus.audit)
    assert len(received(maildir)) == before


def test_a_mail_server_that_does_not_answer_never_stops_a_decision(mailed_campus, tmp_path, caplog):
    airlock = airlock_on(mailed_campus, tmp_path, smtp_host="127.0.0.1", smtp_port=free_port())  # nobody listens
    with caplog.at_level(logging.WARNING, logger="campus.airlock.notify"):
        request = airlock.export(mailed_campus.session("alice", ["researchers"]), BY_GENDER, "unmailed",
                                 audit=mailed_campus.audit)
        released = airlock.review(request.id, SEJIN, "approve", audit=mailed_campus.audit, release=True)
    assert request.status is Status.NEEDS_REVIEW and released.status is Status.RELEASED
    warnings = [r.getMessage() for r in caplog.records]
    assert any("could not mail jiwoo@campus.test, sejin@campus.test" in w and "CAMPUS_AIRLOCK_SMTP_HOST" in w
               for w in warnings)
    assert any("could not mail alice@campus.test" in w for w in warnings)
