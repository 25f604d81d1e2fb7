"""The campus's JupyterHub: how admins provision it, and where researchers' servers run.

Used by ``hub/jupyterhub_config.py`` and the admin commands (``campus users|groups|projects``).
One concern a module; only `spawner` imports JupyterHub, and only `screen` the notebook
server (jupyter_server):

* `users` — ``hub/users.yaml`` edited in place, and what the hub should hold according to it;
* `api` — the hub's REST API as the campus admin, and the steps (`plan`) that make the
  hub's users and groups match the file;
* `passwords` — campus accounts (``CAMPUS_HUB_AUTH=native``): argon2 hashes and the lock
  that follows too many wrong passwords;
* `clients` — where a request to the hub comes from, from the TCP peer, not the headers;
* `accounts` — each researcher's Unix account and private home, and dropping to it;
* `disk` — a home of a fixed size: an ext4 image of its own, mounted over the home;
* `mounts` — what a sandboxed server sees: bubblewrap's mounts and the folders it hides;
* `network` — the egress lock: each sandboxed server in a network namespace of its own;
* `seccomp` — the seccomp filter every sealed session runs under (no new user namespaces);
* `limits` — what one sealed session may use: memory, CPU, processes, the size of its home;
* `spawner` — `SandboxSpawner`, a notebook server in bubblewrap;
* `screen` — what a sealed session's browser gets from its notebook server (no files);
* `kernel` — what a sealed session's kernel says when it meets a limit (an IPython extension);
* `purge` — what a campus's sandboxes leave on the machine, found and removed;
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
