"""The campus hub: JupyterHub for Big Data Campus.

    jupyterhub -f hub/jupyterhub_config.py        (scripts/up starts it)

Researchers get a notebook server each; its token reaches one thing, the data service,
which answers every query through the policy. Admins provision people with
``campus users|groups|projects`` (hub/users.yaml, then the hub's REST API).

Settings: all from the environment, declared once with default and help in
`campus.settings.HubSettings` (``CAMPUS_HUB_*``) and `OidcSettings` (``CAMPUS_OIDC_*``);
``hub/README.md`` lists every one. The ones you are most likely to set:

    CAMPUS_HUB_BIND_URL      where people reach the campus        [http://127.0.0.1:8000]
    CAMPUS_HUB_AUTH          native (campus accounts) | oidc (campus SSO)          [native]
    CAMPUS_HUB_SPAWNER       sandbox | local | simple (tests: no Unix users) | a class  [sandbox]
    CAMPUS_HUB_DATA_SERVICE  run `campus serve` as the managed service `data`       [true]
    CAMPUS_HUB_CULL_IDLE     stop servers idle this many seconds, 0 = never         [3600]
    CAMPUS_HUB_STATE_DIR     database, cookie secret, admin token   [<CAMPUS_STATE_DIR>/hub]
    CAMPUS_OIDC_ISSUER, CAMPUS_OIDC_CLIENT_ID, CAMPUS_OIDC_CLIENT_SECRET    (auth = oidc)

The campus settings (``CAMPUS_ROOT``, ``CAMPUS_STATE_DIR``, ``CAMPUS_DATA_DIR``,
``CAMPUS_DB_URL``, ...) are passed on to the data service; the hub's own secrets
(``CAMPUS_HUB_TOKEN``, ``CAMPUS_OIDC_CLIENT_SECRET``) are not.
"""

import os
import sys
from pathlib import Path

from jupyterhub.log import log_request

from campus import provisioning
from campus.hub import ADMIN_SERVICE, DATA_SERVICE, PROJECT_PREFIX
from campus.hub.clients import SessionsLogged
from campus.hub.users import desired, project_groups_of
from campus.settings import HubSettings, OidcSettings, Settings, split

c = get_config()  # noqa: F821  (JupyterHub provides it)

hub = HubSettings()
campus = Settings()
users = provisioning.load(hub.users_path)
wanted = desired(users)
campus_groups = {g for g in wanted.groups if not g.startswith(PROJECT_PREFIX)}
data_groups = set(campus_groups)  # the groups whose members may use the data service
state = hub.state
state.mkdir(parents=True, exist_ok=True, mode=0o700)
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- where things live

c.JupyterHub.bind_url = hub.bind_url
c.JupyterHub.hub_bind_url = hub.internal_url
c.JupyterHub.db_url = hub.db_url or f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
# hub/templates: the home page links the campus's pages; the admin page has no "Add Users"
# (people are provisioned in hub/users.yaml with `campus users add`).
c.JupyterHub.template_paths = [str(HERE / "templates")]

# The proxy: node configurable-http-proxy, installed by scripts/node-proxy.
if not hub.proxy_command.exists():
    sys.exit(f"JupyterHub's proxy is not installed at {hub.proxy_command}: run scripts/node-proxy "
             "(or set CAMPUS_HUB_PROXY to a configurable-http-proxy)")
c.ConfigurableHTTPProxy.command = [str(hub.proxy_command)]
c.ConfigurableHTTPProxy.api_url = hub.proxy_api_url
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# A sealed session's requests take at most their share of the hub's log (campus.hub.clients).
c.JupyterHub.tornado_settings = {"log_function": SessionsLogged(log_request)}

# --------------------------------------------------------------------------- who may sign in

# Users the admins provisioned (campus users add / sync: hub users) may sign in.
c.Authenticator.allow_existing_users = True

if hub.auth == "native":
    # Campus accounts, no IdP needed: admins create them (campus users add) and set their
    # passwords (campus users password: argon2 hashes in <state_dir>/passwords); wrong
    # passwords in a row lock the name, and many from one address lock the address (the
    # address the campus's proxy saw: campus.hub.clients).
    # (jupyterhub-nativeauthenticator 1.3.0, the newest, fails every sign-in on
    # JupyterHub 6: its login handler calls the removed `statsd`.)
    import asyncio

    from jupyterhub.auth import Authenticator
    from tornado import web

    from campus.hub.clients import request_client
    from campus.hub.passwords import FailedLogins, Passwords

    proxies = hub.proxies

    class CampusPasswordAuthenticator(Authenticator):
        """Sign in with a campus account: a provisioned name and the password an admin set.

        The address that a lock counts is the client's as the campus's proxy saw it
        (`campus.hub.clients`), never a header's; a sealed session's kernel may not sign in
        at all, so it can lock out no name and no address.
        """

        passwords = Passwords(hub.password_file)
        failures = FailedLogins(hub.max_failed_logins, hub.lockout_seconds)

        async def authenticate(self, handler, data):
            name = self.normalize_username(data.get("username") or "")
            password = data.get("password") or ""
            address, from_session = request_client(handler.request, proxies) if handler is not None else (None, False)
            if from_session:  # refused unlogged (the request log says it, within a session's share)
                refused = web.HTTPError(403)
                refused.jupyterhub_message = ("Signing in from a notebook session is not allowed: sign in with "
                                              "your browser at the campus's address.")
                raise refused
            wait = self.failures.locked(name, address)
            if wait:
                raise web.HTTPError(429, f"Too many wrong passwords: try again in {int(wait) + 1} seconds, or ask "
                                         "a campus admin to set a new password (campus users password NAME).")
            if name and password and await asyncio.to_thread(self.passwords.verify, name, password):
                self.failures.succeeded(name)
                return name
            self.failures.failed(name, address)
            return None

    c.JupyterHub.authenticator_class = CampusPasswordAuthenticator
    c.Authenticator.admin_users = set(wanted.admins)
    # The hub starts with the file's users and groups (this only adds; campus users sync
    # also removes, and drops the groups of expired projects).
    c.JupyterHub.load_groups = {group: {"users": sorted(members)} for group, members in wanted.groups.items()}

else:
    # Campus SSO: an OpenID Connect provider says who you are and in which groups.
    from oauthenticator.generic import GenericOAuthenticator

    oidc = OidcSettings()
    if not (oidc.client_id and oidc.client_secret):
        sys.exit("campus SSO (CAMPUS_HUB_AUTH=oidc) needs CAMPUS_OIDC_CLIENT_ID and CAMPUS_OIDC_CLIENT_SECRET, "
                 "as registered at the provider")
    endpoints = oidc.endpoints()

    def groups_with_projects(auth_state):
        """The IdP's groups, plus the hub groups of the user's active projects (from users.yaml).

        The hub replaces a user's groups with these at every sign-in (manage_groups).
        """
        claims = auth_state.get("oauth_user") or {}
        groups = claims.get(oidc.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        name = claims.get(oidc.username_claim)
        now = provisioning.load(hub.users_path)
        return sorted(set(groups) | set(project_groups_of(now, name) if name else ()))

    c.JupyterHub.authenticator_class = GenericOAuthenticator
    c.GenericOAuthenticator.login_service = "campus SSO"
    c.GenericOAuthenticator.client_id = oidc.client_id
    c.GenericOAuthenticator.client_secret = oidc.client_secret.get_secret_value()
    c.GenericOAuthenticator.oauth_callback_url = oidc.callback_url or hub.bind_url.rstrip("/") + "/hub/oauth_callback"
    c.GenericOAuthenticator.authorize_url = endpoints["authorize_url"]
    c.GenericOAuthenticator.token_url = endpoints["token_url"]
    c.GenericOAuthenticator.userdata_url = endpoints["userinfo_url"]
    c.GenericOAuthenticator.scope = oidc.scopes.split()
    c.GenericOAuthenticator.username_claim = oidc.username_claim
    c.GenericOAuthenticator.manage_groups = True
    c.GenericOAuthenticator.auth_state_groups_key = groups_with_projects
    allowed = split(oidc.allowed_groups) or campus_groups
    c.GenericOAuthenticator.allowed_groups = allowed
    data_groups |= allowed
    c.GenericOAuthenticator.admin_groups = split(oidc.admin_groups)
    # The IdP decides at every sign-in. With allow_existing_users, everyone who once
    # signed in would stay allowed after leaving the allowed groups (JupyterHub adds
    # every existing user to allowed_users), so it is off for SSO.
    c.GenericOAuthenticator.allow_existing_users = False

# --------------------------------------------------------------------------- services and roles

services = [
    # The admin commands (campus users|groups|projects) act as this service.
    {"name": ADMIN_SERVICE, "api_token": hub.admin_token(create=True), "display": False},
]
roles = [
    # Users: their own servers, but no API tokens of their own (the only token that
    # reaches the data service is the one their server gets, server_token_scopes, so a
    # query cannot be sent from outside a campus session), and, as by default, no `shares`
    # (a guest in alice's server would query with alice's grants, her projects' included).
    {
        "name": "user",
        "scopes": ["read:users!user", "users:activity!user", "servers!user", "access:servers!user",
                   "read:tokens!user"],
    },
    # The admin commands set admin flags, which only an admin may do.
    {"name": "admin", "services": [ADMIN_SERVICE]},
]

if hub.data_service:
    # Everything the data service reads comes from the campus settings, passed explicitly.
    passed = {k: v for k, v in os.environ.items()
              if k.startswith("CAMPUS_") and not k.startswith(("CAMPUS_HUB_", "CAMPUS_OIDC_"))}
    passed |= {"CAMPUS_ROOT": str(campus.root), "CAMPUS_STATE_DIR": str(campus.state_dir)}
    # Rows of people go to sealed sessions only; only the sandboxed spawner seals them, and
    # the hub says so both ways (a stray CAMPUS_SESSIONS_SEALED cannot claim it).
    passed["CAMPUS_SESSIONS_SEALED"] = "true" if hub.spawner == "sandbox" else "false"
    # The airlock's e-mails link its pages as people reach them.
    passed.setdefault("CAMPUS_AIRLOCK_PAGES_URL", hub.bind_url.rstrip("/") + f"/services/{DATA_SERVICE}/airlock")
    service = {
        "name": DATA_SERVICE,
        "url": hub.data_url,
        "command": [str(BIN / "campus"), "serve", "--auth", "hub"],
        "environment": passed,
        "display": False,
        # Stewards sign in to the review pages through the hub (OAuth); a campus service
        # needs no "authorize this application?" page.
        "oauth_no_confirm": True,
    }
    if hub.data_user:
        service["user"] = hub.data_user  # the only user that can read the raw data
    services.append(service)
    roles += [
        # HubAuth in the service: whose token is it, in which groups, and is it a notebook
        # server's (the JSON API answers those only; read:tokens reads a token's note).
        {"name": "campus-data-service", "services": [DATA_SERVICE],
         "scopes": ["read:users:groups", "read:users:name", "read:tokens"]},
        # Members of the campus groups may use the data service (the policy decides what
        # each may see). A group added later gets it when the hub restarts.
        {"name": "campus-data-users", "groups": sorted(data_groups),
         "scopes": [f"access:services!service={DATA_SERVICE}"]},
    ]

if hub.cull_idle:
    services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={hub.cull_idle}",
                    f"--cull-every={max(60, min(600, hub.cull_idle // 2))}"],
        "display": False,
    })
    roles.append({"name": "idle-culler", "services": ["idle-culler"],
                  "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})

c.JupyterHub.services = services
c.JupyterHub.load_roles = roles

# --------------------------------------------------------------------------- notebook servers

SPAWNERS = {
    "local": "jupyterhub.spawner.LocalProcessSpawner",  # one Unix user per campus user (hub runs as root)
    "simple": "jupyterhub.spawner.SimpleLocalProcessSpawner",  # tests only: no Unix users, no isolation
    # ==== SANDBOX HOOK ====================================================================
    # The sandboxed spawner (bubblewrap on one machine: the kernel cannot see the raw data,
    # the campus and hub state or other homes, and runs as its own unprivileged Unix account
    # campus-<name>). What it hides comes from the settings above; its own settings are
    # CAMPUS_SANDBOX_* (campus.settings.SandboxSettings, hub/README.md "Sandboxed sessions").
    "sandbox": "campus.hub.spawner.SandboxSpawner",
    # ======================================================================================
}
if hub.spawner == "sandbox" and os.geteuid() != 0:
    sys.exit("CAMPUS_HUB_SPAWNER=sandbox needs the hub to run as root: it makes each researcher's Unix account "
             "and starts bubblewrap, which drops to that account inside the sandbox")
c.JupyterHub.spawner_class = SPAWNERS.get(hub.spawner, hub.spawner)
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# JupyterLab's "Campus" menu (hub/singleuser/labsettings/overrides.json): the campus's pages, in a new tab.
c.Spawner.args = [f"--LabApp.app_settings_dir={HERE / 'singleuser' / 'labsettings'}"]
# The server's token may use the data service (if its user may) and nothing else.
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 f"access:services!service={DATA_SERVICE}"]
if hub.data_service:
    # The campus client in the kernel talks to the service directly, on loopback.
    c.Spawner.environment = {"CAMPUS_SERVICE_URL": hub.data_url.rstrip("/") + f"/services/{DATA_SERVICE}/"}
if hub.spawner == "simple":
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
    # Tests only: its servers run as the hub's own user, root in CI (no isolation either way).
    c.Spawner.args.append("--allow-root")
