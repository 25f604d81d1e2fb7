"""Campus SSO, for real: the hub with GenericOAuthenticator against an OpenID provider.

The provider is npm `oidc-provider` (a certified implementation) run by
``tests/oidc/provider.mjs`` on loopback, with fixed test accounts and a `groups` claim.
A sign-in is the whole authorization-code flow as a browser does it: the hub sends us
to the provider, we post its login form, the provider sends us back with a code, the hub
exchanges it and reads the user's claims.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from campus.hub.users import UsersFile
from test_hub import free_port, need_node, running_hub

OIDC = Path(__file__).parent / "oidc"
pytestmark = pytest.mark.slow

ACCOUNTS = {
    "alice": {"password": "alice-idp-pass", "groups": ["researchers"], "name": "Alice Kim"},
    "admin": {"password": "admin-idp-pass", "groups": ["admins"]},
    "mallory": {"password": "mallory-idp-pass", "groups": ["visitors"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The OpenID provider; yields (issuer, accounts file, hub port, client id, client secret)."""
    need_node()
    if not (OIDC / "node_modules" / "oidc-provider").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC)], check=True, timeout=300,
                       capture_output=True)
    folder = tmp_path_factory.mktemp("oidc")
    accounts = folder / "accounts.json"
    accounts.write_text(json.dumps(ACCOUNTS))
    port, hub_port = free_port(), free_port()
    client_id, secret = "campus-hub", "campus-hub-test-secret"
    env = os.environ | {
        "OIDC_PORT": str(port), "OIDC_CLIENT_ID": client_id, "OIDC_CLIENT_SECRET": secret,
        "OIDC_REDIRECT_URI": f"http://127.0.0.1:{hub_port}/hub/oauth_callback", "OIDC_ACCOUNTS": str(accounts),
    }
    log = open(folder / "provider.log", "wb")
    process = subprocess.Popen(["node", str(OIDC / "provider.mjs")], cwd=OIDC, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    log.close()
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID provider did not start:\n{(folder / 'provider.log').read_text()}")
            time.sleep(0.1)
        yield issuer, accounts, hub_port, client_id, secret
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def hub(provider, tmp_path_factory):
    issuer, _, hub_port, client_id, secret = provider
    with running_hub(tmp_path_factory.mktemp("hub-oidc"), CAMPUS_HUB_AUTH="oidc",
                     CAMPUS_HUB_BIND_URL=f"http://127.0.0.1:{hub_port}", CAMPUS_OIDC_ISSUER=issuer,
                     CAMPUS_OIDC_CLIENT_ID=client_id, CAMPUS_OIDC_CLIENT_SECRET=secret) as running:
        yield running


def sso_sign_in(hub, name: str, password: str) -> httpx.Response:
    """Start at the hub, sign in at the provider's form, follow the redirects back to the hub."""
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        form = browser.get(hub.url + "hub/oauth_login?next=/hub/home")
        assert form.status_code == 200 and 'name="password"' in form.text, form.text[:500]
        action = re.search(r'<form method="post" action="([^"]+)"', form.text).group(1)
        return browser.post(form.url.join(action), data={"login": name, "password": password})


def arrived(response: httpx.Response, hub) -> bool:
    return response.status_code == 200 and str(response.url) == hub.url + "hub/home"


def state(hub):
    with hub.admin() as admin:
        return admin.state()


def test_a_user_in_an_allowed_group_gets_in_with_the_idp_groups_and_their_projects(hub):
    assert arrived(sso_sign_in(hub, "alice", "alice-idp-pass"), hub)
    now = state(hub)
    assert now.users["alice"] is False
    assert {g for g, members in now.groups.items() if "alice" in members} == {"researchers", "project:gangnam-retail"}


def test_a_user_in_the_admin_group_is_a_hub_admin(hub):
    assert arrived(sso_sign_in(hub, "admin", "admin-idp-pass"), hub)
    assert state(hub).users["admin"] is True


def test_a_user_outside_the_allowed_groups_is_refused(hub):
    refused = sso_sign_in(hub, "mallory", "mallory-idp-pass")
    assert refused.status_code == 403
    assert "/hub/oauth_callback" in str(refused.url)
    assert "mallory" not in state(hub).users


def test_a_wrong_password_stays_at_the_provider(hub):
    wrong = sso_sign_in(hub, "alice", "not-alices")
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text


def test_an_expired_project_is_not_among_the_groups_at_the_next_sign_in(hub):
    users = UsersFile(hub.users_file)
    users.set_expiry("gangnam-retail", datetime.date.today() - datetime.timedelta(days=1))
    users.save()
    assert arrived(sso_sign_in(hub, "alice", "alice-idp-pass"), hub)
    assert {g for g, members in state(hub).groups.items() if "alice" in members} == {"researchers"}


def test_someone_who_left_the_allowed_groups_is_refused_although_they_signed_in_before(hub, provider):
    accounts = provider[1]
    changed = json.loads(accounts.read_text())
    changed["alice"]["groups"] = []
    accounts.write_text(json.dumps(changed))
    try:
        assert "alice" in state(hub).users  # she signed in before
        assert sso_sign_in(hub, "alice", "alice-idp-pass").status_code == 403
    finally:
        accounts.write_text(json.dumps(ACCOUNTS))


def test_the_provider_needs_node_modules_that_git_ignores():
    assert "node_modules/" in (OIDC / ".gitignore").read_text().split()
    assert shutil.which("node")
