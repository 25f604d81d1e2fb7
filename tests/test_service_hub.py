"""The service inside JupyterHub: a real hub says whose token it is, and what it may do.

A real `jupyterhub` process (with an in-memory proxy: only its REST API is used)
registers the data service; tokens are issued by the hub's API. The service must take
alice with her hub groups when her token carries ``access:services!service=data``,
refuse her token without that scope, refuse tokens the hub does not know, and say so
when the hub is down.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyterhub.services.auth import HubAuth

from campus.service import create_app
from campus.service.auth import HubAuthenticator

pytest_plugins = ["service_fixtures"]

CONFIG = '''
from jupyterhub.proxy import Proxy

class InMemoryProxy(Proxy):
    """Routes kept in memory: the test talks to the hub's API directly."""
    should_start = False
    routes = {{}}

    async def add_route(self, routespec, target, data):
        self.routes[routespec] = {{"routespec": routespec, "target": target, "data": data}}

    async def delete_route(self, routespec):
        self.routes.pop(routespec, None)

    async def get_all_routes(self):
        return dict(self.routes)

c.JupyterHub.proxy_class = InMemoryProxy
c.JupyterHub.bind_url = "http://127.0.0.1:{public_port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret = bytes.fromhex("{cookie_secret}")
c.JupyterHub.authenticator_class = "null"
c.JupyterHub.load_groups = {{"researchers": {{"users": ["alice"]}}}}
c.JupyterHub.services = [
    {{"name": "data", "url": "{service_url}", "api_token": "{service_token}"}},
    {{"name": "tester", "api_token": "{tester_token}"}},
]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=data"]}},
    {{"name": "data-service", "services": ["data"], "scopes": ["read:users:groups", "read:tokens"]}},
    {{"name": "admin", "services": ["tester"]}},
]
'''


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A running JupyterHub; yields (API URL, tokens by name, process)."""
    from service_fixtures import free_port, http_client

    folder = tmp_path_factory.mktemp("hub")
    tokens = {"service": secrets.token_hex(16), "tester": secrets.token_hex(16)}
    hub_port, service_port = free_port(), free_port()
    (folder / "jupyterhub_config.py").write_text(CONFIG.format(
        public_port=free_port(), hub_port=hub_port, folder=folder, cookie_secret=secrets.token_hex(32),
        service_url=f"http://127.0.0.1:{service_port}", service_token=tokens["service"], tester_token=tokens["tester"],
    ))
    log = folder / "hub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f", "jupyterhub_config.py"],
                                   cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{hub_port}/hub/api"
    try:
        with http_client(api, headers={"Authorization": f"token {tokens['tester']}"}) as http:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterHub did not start:\n{log.read_text()[-3000:]}")
                try:
                    if http.get(api + "/").status_code == 200:
                        break
                except Exception:
                    pass
                time.sleep(0.2)
            server = "Server at /user/alice/"  # as the hub notes the token it gives alice's notebook server
            for name, scopes, note in (("alice", ["access:services!service=data"], server),
                                       ("alice_unscoped", ["read:users:activity!user=alice"], server),
                                       ("alice_own", ["access:services!service=data"], "a token of her own"),
                                       ("alice_unused", ["access:services!service=data"], server)):
                made = http.post(api + "/users/alice/tokens", json={"scopes": scopes, "note": note})
                assert made.status_code == 201, made.text
                tokens[name] = made.json()["token"]
        yield api, tokens, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_hub_tokens_are_checked_by_the_hub(service, hub, serve):
    api, tokens, process = hub
    hub_auth = HubAuth(api_url=api, api_token=tokens["service"])
    app = create_app(service.campus, HubAuthenticator(hub_auth, service="data", policy=service.campus.policy))
    with serve(app) as url:
        with service.client(tokens["alice"]) as http:
            assert http.get(url + "api/me").json() == {"user": "alice", "groups": ["researchers"], "via": "hub"}
            assert http.post(url + "api/sql", json={"sql": "SELECT hour, count(*) AS n FROM card_usage GROUP BY 1"}
                             ).status_code == 200
        # (token, status, code)
        for token, status, code in [
            (tokens["alice_unscoped"], 403, "forbidden"),   # a real token, without the scope for this service
            (tokens["alice_own"], 403, "forbidden"),        # a token of hers, but not her notebook server's
            ("not-a-hub-token", 401, "invalid_token"),      # the hub does not know it
            (None, 401, "unauthenticated"),                 # no token at all
        ]:
            with service.client(token) as http:
                response = http.get(url + "api/me")
            assert (response.status_code, response.json()["code"]) == (status, code), response.text
        process.terminate()
        process.wait(timeout=30)
        with service.client(tokens["alice_unused"]) as http:  # not in the service's cache of hub answers
            response = http.get(url + "api/me")
        assert (response.status_code, response.json()["code"]) == (502, "hub_unavailable")
