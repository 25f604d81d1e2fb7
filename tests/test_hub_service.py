"""The hub as configured for the campus: the data service and the idle culler as managed
services, and the roles that decide which tokens reach the data service.

The hub starts `campus serve` itself (service `data`) and `jupyterhub_idle_culler`
(service `idle-culler`). A token carrying ``access:services!service=data`` that belongs
to a member of a campus group reaches the service, which learns the user's groups from
the hub; nobody outside the campus groups can even be given such a token.
"""

from __future__ import annotations

import time

import httpx
import pytest

from test_hub import running_hub

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub(tmp_path_factory, demo_data):
    folder = tmp_path_factory.mktemp("hub-service")
    with running_hub(folder, CAMPUS_HUB_DATA_SERVICE="true", CAMPUS_HUB_CULL_IDLE="600",
                     CAMPUS_DATA_DIR=str(demo_data),
                     CAMPUS_SESSIONS_SEALED="true") as running:  # a stray claim: these servers are not sealed
        yield running


def service_url(hub) -> str:
    return hub.env["CAMPUS_HUB_DATA_URL"] + "/services/data/api/"


def wait_for_service(hub) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(service_url(hub) + "health", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the data service did not answer:\n{hub.log()[-3000:]}")
        time.sleep(0.2)


def mint(hub, user: str, scopes: list[str], note: str | None = None) -> httpx.Response:
    """An admin issues `user` a token (the hub refuses scopes the user does not hold). By
    default it is noted as the hub notes a notebook server's token: the tests stand in for
    a notebook without starting one (the end-to-end and template tests start real ones)."""
    note = f"Server at /user/{user}/" if note is None else note
    return httpx.post(hub.api + f"users/{user}/tokens", json={"scopes": scopes, "expires_in": 600, "note": note},
                      headers={"Authorization": f"token {hub.token}"}, timeout=30)


def test_the_hub_runs_the_data_service_and_the_idle_culler(hub):
    services = httpx.get(hub.api + "services", headers={"Authorization": f"token {hub.token}"}, timeout=30).json()
    assert {"data", "idle-culler", "campus-admin"} <= set(services)
    assert services["data"]["command"][-3:] == ["serve", "--auth", "hub"]
    assert "--timeout=600" in services["idle-culler"]["command"]
    wait_for_service(hub)


def test_a_campus_members_token_reaches_the_service_with_the_hub_groups(hub):
    wait_for_service(hub)
    token = mint(hub, "alice", ["access:services!service=data"])
    assert token.status_code == 201, token.text
    me = httpx.get(service_url(hub) + "me", headers={"Authorization": f"token {token.json()['token']}"}, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["user"] == "alice"
    assert set(me.json()["groups"]) == {"researchers", "project:gangnam-retail"}


def test_the_api_answers_only_notebook_server_tokens_whatever_the_route(hub):
    """Decided from the token, not the route: a token of alice's that is not her server's is
    refused even sent straight to the service's own port."""
    wait_for_service(hub)
    other = mint(hub, "alice", ["access:services!service=data"], note="a token of my own").json()["token"]
    direct = httpx.get(service_url(hub) + "me", headers={"Authorization": f"token {other}"}, timeout=30)
    assert direct.status_code == 403 and "notebook servers only" in direct.json()["reason"]


def test_a_token_without_the_service_scope_is_refused_by_the_service(hub):
    wait_for_service(hub)
    token = mint(hub, "alice", ["read:users:name!user"]).json()["token"]
    me = httpx.get(service_url(hub) + "me", headers={"Authorization": f"token {token}"}, timeout=30)
    assert me.status_code == 403


def test_nobody_outside_the_campus_groups_can_hold_a_token_for_the_service(hub):
    with hub.admin() as admin:
        admin.add_user("stranger")
    refused = mint(hub, "stranger", ["access:services!service=data"])
    assert refused.status_code in (400, 403), refused.text


def test_rows_of_people_are_refused_where_the_hub_does_not_seal_sessions(hub):
    """The hub runs unsealed servers here, and tells the data service so, whatever its own
    environment claims: a project's rows of card usage are refused, with the reason."""
    wait_for_service(hub)
    token = mint(hub, "alice", ["access:services!service=data"]).json()["token"]
    refused = httpx.post(service_url(hub) + "sql", timeout=60,
                         json={"sql": "SELECT card_id, amount FROM card_usage LIMIT 5", "project": "gangnam-retail"},
                         headers={"Authorization": f"token {token}", "Accept": "application/json"})
    assert refused.status_code == 403, refused.text
    assert "sealed sessions only" in refused.json()["reason"] and "CAMPUS_HUB_SPAWNER=sandbox" in \
        refused.json()["reason"]
