"""The data service under bad input and load: clear 4xx refusals, never a 500; fair to others."""

from __future__ import annotations

import pytest

pytest_plugins = ["service_fixtures"]

BY_GENDER = "SELECT gender, count(*) AS n FROM card_usage GROUP BY 1"


@pytest.fixture(scope="module")
def alice(service):
    with service.client(service.token("alice")) as http:
        yield http


# (what, method, path, raw body, content type, status, words in the reason)
BAD_INPUT = [
    ("lone surrogate in a description", "exports", '{"sql": "%s", "name": "x", "description": "\\udfff"}' % BY_GENDER,
     "application/json", 422, "valid string"),
    ("lone surrogate in SQL", "sql", '{"sql": "SELECT \'\\udfff\' AS x"}', "application/json", 422, "valid string"),
    ("NUL in SQL", "exports", '{"sql": "SELECT 1 \\u0000", "name": "nul"}', "application/json", 422, "NUL"),
    ("SQL over the cap, as an export", "exports", '{"sql": "%s", "name": "big"}' % ("x" * 100_001),
     "application/json", 422, "at most 100000 characters"),
    ("a body over the limit", "sql", '{"sql": "%s"}' % ("x" * 1_100_000), "application/json", 413, "over 1,000,000"),
    ("not JSON", "sql", "SELECT 1", "application/json", 422, "JSON"),
    ("an odd content type", "sql", '{"sql": "SELECT 1"}', "text/csv", 422, "valid dictionary"),
    ("a broken multipart", "exports/files", "--b\r\nnonsense", "multipart/form-data; boundary=b", 422, ""),
]


@pytest.mark.parametrize("what,path,body,kind,status,says", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_a_clear_refusal(alice, what, path, body, kind, status, says):
    response = alice.post(path, content=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": kind})
    assert response.status_code == status, response.text
    assert response.json()["code"] and says in response.json()["reason"]
    assert alice.get("health").status_code == 200, "the service is still up"


def test_a_refused_export_is_audited_as_an_export(service, alice):
    refused = alice.post("exports", json={"sql": "SELECT card_id FROM card_usage", "name": "ids"})
    assert refused.status_code in (400, 403)
    event = next(e for e in service.campus.audit.events(limit=20) if "card_id FROM" in (e["detail"].get("sql") or ""))
    assert event["action"] == "export" and event["outcome"] in ("denied", "query_rejected")


def test_content_changed_on_disk_is_refused_with_a_reason_not_a_500(service, alice):
    made = alice.post("exports", json={"sql": BY_GENDER, "name": "tampered"}).json()
    with service.client(service.token("sejin")) as sejin:
        approval = {"decision": "approve", "content_sha256": made["content_sha256"], "round": 1}
        assert sejin.post(f"exports/{made['id']}/review", json=approval).status_code == 200
        assert sejin.post(f"exports/{made['id']}/release").status_code == 200
    stored = [p for p in service.campus.settings.state_dir.rglob("*") if made["content_sha256"] in p.name]
    assert stored, "the checked table is stored under its sha256"
    stored[0].write_bytes(b"not what was checked")
    download = alice.get(f"exports/{made['id']}/download")
    assert download.status_code == 409 and download.json()["code"] == "content_changed", download.text


# --- fair to everyone: per-user limits ---------------------------------------------------------

SLOW = "SELECT count(*) AS n FROM air_quality a, air_quality b WHERE a.pm25 < b.pm25 AND a.station <> b.station"


@pytest.fixture(scope="module")
def strict(demo_data, tmp_path_factory, serve):
    """A data service that takes 2 requests at once and 5 a second (burst 10) from one user,
    and 2 export requests a day."""
    import campus
    from campus.service.auth import TokenAuthenticator
    from campus.service.server import app_for
    from campus.service.tokens import TokenStore
    from campus.settings import AirlockSettings
    from service_fixtures import Service

    cx = campus.open(data_dir=demo_data, state_dir=tmp_path_factory.mktemp("strict"), query_seconds=4,
                     user_requests_per_second=5, user_request_burst=10, user_concurrent=2)
    tokens = TokenStore(cx.audit.engine)
    app = app_for(cx, TokenAuthenticator(tokens, cx.policy), airlock_settings=AirlockSettings(requests_per_day=2))
    with serve(app) as url:
        yield Service(url, cx, tokens, cx.settings.database)
    cx.close()


def test_one_user_flooding_is_held_to_their_share_while_another_is_answered(strict):
    from concurrent.futures import ThreadPoolExecutor

    bob, alice = strict.token("bob"), strict.token("alice")

    def flood(_):
        with strict.client(bob) as http:
            return http.post("sql", json={"sql": SLOW})

    with ThreadPoolExecutor(12) as pool:
        flooding = [pool.submit(flood, i) for i in range(12)]
        with strict.client(alice) as http:
            answered = [http.post("sql", json={"sql": BY_GENDER}).status_code for _ in range(5)]
        statuses = [f.result() for f in flooding]
    assert answered == [200] * 5, "alice is answered while bob floods"
    refused = [r for r in statuses if r.status_code == 429]
    assert refused and all(int(r.headers["retry-after"]) >= 1 and "requests in progress" in r.json()["reason"]
                           for r in refused)
    assert sum(r.status_code != 429 for r in statuses) <= 2 + 5, "bob had at most his share at once"


def test_too_many_requests_a_second_get_429_with_retry_after(strict):
    with strict.client(strict.token("carol")) as http:
        statuses = []
        while len(statuses) < 30 and (not statuses or statuses[-1].status_code != 429):
            statuses.append(http.get("me"))
    assert statuses[0].status_code == 200 and statuses[-1].status_code == 429
    limited = statuses[-1]
    assert "requests a second" in limited.json()["reason"] and int(limited.headers["retry-after"]) >= 1


def test_export_requests_have_a_daily_quota(strict):
    with strict.client(strict.token("alice")) as http:
        made = [http.post("exports", json={"sql": BY_GENDER, "name": f"q{i}"}) for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 429]
    assert made[2].json()["code"] == "quota_exceeded" and "export requests in the last 24 hours" in made[2].json()["reason"]


def test_while_others_wait_one_user_holds_at_most_half_the_query_slots():
    """FairQueries: bob queues three queries before alice's one; with two slots, alice's
    starts before bob's second, whatever the order they arrived in."""
    import threading
    import time

    import anyio

    from campus.service.app import FairQueries

    started, lock = [], threading.Lock()

    def work(name):
        def run():
            with lock:
                started.append(name)
            time.sleep(0.2)
        return run

    async def main():
        queries = FairQueries(2, anyio.CapacityLimiter(8))
        async with anyio.create_task_group() as tasks:
            for i in range(3):
                tasks.start_soon(queries.run, "bob", work(f"bob{i}"))
                await anyio.sleep(0.01)
            tasks.start_soon(queries.run, "alice", work("alice"))
        return queries

    queries = anyio.run(main)
    assert started.index("alice") < started.index("bob2") and started[:2] == ["bob0", "bob1"]
    assert queries.running == {} and queries.waiting == []


# --- strangers: a deadline to send a request, a budget for refused tokens -------------------------

RECEIVE_SECONDS, STRANGER_BURST, STRANGER_RATE = 1.0, 20, 0.5


@pytest.fixture(scope="module")
def process(demo_data, tmp_path_factory):
    """`campus serve` as a process of its own on loopback, with a one-second deadline to send a
    request and a budget of 20 refused requests (then one every 2 s) per address; alice's token."""
    from campus.audit import AuditLog
    from campus.service.tokens import TokenStore
    from service_fixtures import fresh_database, free_port, service_env, start_service, wait_until_up

    folder = tmp_path_factory.mktemp("strangers")
    with fresh_database("sqlite", folder) as database:
        audit = AuditLog(database)
        token = TokenStore(audit.engine).issue("alice", audit=audit, by="tests").token
        audit.close()
        env = service_env(demo_data, folder / "state", database) | {
            "CAMPUS_RECEIVE_SECONDS": str(RECEIVE_SECONDS), "CAMPUS_STRANGER_REQUEST_BURST": str(STRANGER_BURST),
            "CAMPUS_STRANGER_REQUESTS_PER_SECOND": str(STRANGER_RATE)}
        port = free_port()
        service = start_service(env, port, folder / "service.log")
        try:
            wait_until_up(f"http://127.0.0.1:{port}/", service, folder / "service.log")
            yield port, token
        finally:
            service.terminate()
            service.wait(timeout=30)


# (what, the bytes a client sends and then stalls)
STALLED = [
    ("nothing at all", b""),
    ("half a header", b"GET /api/health HTTP/1.1\r\nHost: campus\r\nAccept: "),
    ("half a body", b"POST /api/sql HTTP/1.1\r\nHost: campus\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{\"sql\": \"SELECT"),
]


@pytest.mark.slow
@pytest.mark.parametrize("what,sent", STALLED, ids=[s[0] for s in STALLED])
def test_a_connection_that_stalls_mid_request_is_closed_within_the_deadline(process, what, sent):
    import socket
    import time

    port, _ = process
    with socket.create_connection(("127.0.0.1", port), timeout=RECEIVE_SECONDS + 5) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        answer = sock.recv(1000)  # b"" when the service closes the connection
        waited = time.monotonic() - started
    assert answer == b"", f"{what}: the service answered instead of closing"
    assert RECEIVE_SECONDS - 0.2 <= waited <= RECEIVE_SECONDS + 1.0, f"{what}: closed after {waited:.2f} s"


@pytest.mark.slow
def test_a_request_sent_whole_is_answered_and_the_connection_kept_for_the_next(process):
    import time

    from service_fixtures import http_client

    port, token = process
    with http_client(f"http://127.0.0.1:{port}/api/", headers={"Authorization": f"token {token}"}) as http:
        first = http.post("sql", json={"sql": BY_GENDER})
        time.sleep(RECEIVE_SECONDS / 2)
        second = http.post("sql", json={"sql": BY_GENDER})
    assert first.status_code == second.status_code == 200


@pytest.mark.slow
def test_a_flood_of_bad_tokens_gets_429_while_a_signed_in_researcher_is_answered(process):
    import time
    from concurrent.futures import ThreadPoolExecutor

    from service_fixtures import http_client

    port, token = process
    url = f"http://127.0.0.1:{port}/api/"
    stranger = {"Authorization": "token campus_0123456789ab_" + "x" * 43}

    def flood(_):
        with http_client(url, headers=stranger) as http:
            return [http.get("me") for _ in range(4)]

    with http_client(url, headers={"Authorization": f"token {token}"}) as alice, http_client(url) as anonymous:
        assert alice.get("me").status_code == 200  # alice's token signed in before the flood
        started = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            flooding = pool.map(flood, range(32))
            waited = anonymous.get("me")  # the flood spends the address's budget: then a request without a
            while waited.status_code != 429 and time.monotonic() - started < 30:  # token waits (on a busy
                waited = anonymous.get("me")  # machine the flood's first fifty take a while)
            during = [alice.get("me"), alice.post("sql", json={"sql": BY_GENDER}), waited]
            answers = [r for rs in flooding for r in rs]
        took = time.monotonic() - started
    refused = [r for r in answers if r.status_code == 429]
    assert {r.status_code for r in answers} == {401, 429}
    assert len(answers) - len(refused) <= STRANGER_BURST + STRANGER_RATE * took + 2, "past its budget: 429"
    assert all(int(r.headers["retry-after"]) >= 1 and "refused for their token" in r.json()["reason"] for r in refused)
    assert [r.status_code for r in during] == [200, 200, 429], "alice is answered, a request without a token waits"
