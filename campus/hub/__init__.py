"""The campus's JupyterHub: how admins provision it, and where researchers' servers run.

Used by ``hub/jupyterhub_config.py`` and the admin commands (``campus users|groups|projects``).
One concern a module; only `spawner` imports JupyterHub:

* `users` — ``hub/users.yaml`` edited in place, and what the hub should hold according to it;
* `api` — the hub's REST API as the campus admin, and the steps (`plan`) that make the
  hub's users and groups match the file;
* `passwords` — campus accounts (``CAMPUS_HUB_AUTH=native``): argon2 hashes and the lock
  that follows too many wrong passwords;
* `accounts` — each researcher's Unix account and private home, and dropping to it;
* `mounts` — what a sandboxed server sees: bubblewrap's mounts and the folders it hides;
* `spawner` — `SandboxSpawner`, a notebook server in bubblewrap;
* `errors` — `HubRefused`, `SandboxUnavailable`.

The hub's settings (`HubSettings`, `OidcSettings`, `SandboxSettings`) are in
`campus.settings`. The names the campus gives things in the hub are here.
"""

ADMIN_GROUP = "admins"  # its members are hub admins
PROJECT_PREFIX = "project:"  # a project's members are the hub group project:<name>
DATA_SERVICE = "data"  # the data service, a managed hub service
ADMIN_SERVICE = "campus-admin"  # the admin commands act as this hub service


def project_group(project: str) -> str:
    """The hub group holding a project's members.

    >>> project_group("gangnam-retail")
    'project:gangnam-retail'
    """
    return PROJECT_PREFIX + project
