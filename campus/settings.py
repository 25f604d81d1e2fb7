"""Every setting of the campus, each declared once with its default and help.

Each is read from the environment as ``<PREFIX><NAME>`` (e.g. ``CAMPUS_DATA_DIR=/srv/campus/data``
sets `Settings.data_dir`). The sections, one class a prefix:

=====================  ====================  ==============================================
section                prefix                what it sets
=====================  ====================  ==============================================
`Settings`             ``CAMPUS_``           configuration, data and state; the service database;
                                             the query engine and limits; the policy engine
                                             (embedded Rego, or an OPA server)
`AirlockSettings`      ``CAMPUS_AIRLOCK_``   the export airlock: its store, reviewers, quotas
`HubSettings`          ``CAMPUS_HUB_``       the hub: where it listens, sign-in, spawner, admin token
`OidcSettings`         ``CAMPUS_OIDC_``      campus SSO (``CAMPUS_HUB_AUTH=oidc``)
`SandboxSettings`      ``CAMPUS_SANDBOX_``   the sandboxed notebook servers
=====================  ====================  ==============================================

A prefix belongs to one class: the policy's settings (``CAMPUS_POLICY_ENGINE``,
``CAMPUS_OPA_URL``, ...) are fields of `Settings`. ``hub/README.md`` lists the hub's, the
OIDC and the sandbox settings (a test checks it does).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import ByteSize, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError, HubUnavailable
from .hub import ADMIN_GROUP

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _state_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "campus"


class Settings(BaseSettings):
    """The campus, from ``CAMPUS_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_")

    root: Path = Field(
        PROJECT_ROOT,
        description="The campus configuration: datasets/catalog.yaml, policies/, hub/.",
    )
    state_dir: Path = Field(
        default_factory=_state_home,
        description="Where the campus keeps what it generates and records (outside the tracked tree).",
    )
    data_dir: Path | None = Field(
        None, description="Where dataset Parquet lives; defaults to <state_dir>/data."
    )
    steward: str | None = Field(
        None, description="The steward `campus datasets add` names in the catalog entry it proposes when "
        "--steward is not given: the person who answers for the dataset, never a system account."
    )

    db_url: str | None = Field(
        None, description="The service database (audit, exports): SQLAlchemy URL; defaults to SQLite in state_dir."
    )
    engine: str = Field("duckdb", description="The engine that reads the data (campus.engines: duckdb, spark).")
    spark_master: str = Field("local[*]", description="With the spark engine: the master URL (local[*], spark://...).")
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="With the spark engine: Spark settings passed through, as JSON "
                    '(CAMPUS_SPARK_CONF=\'{"spark.executor.memory": "8g"}\'); the lockdown\'s own cannot be changed.')
    query_seconds: float = Field(120.0, gt=0, description="A query running longer is cancelled.")
    query_memory: str = Field("4GB", description="DuckDB memory limit for queries.")
    user_requests_per_second: float = Field(
        20.0, gt=0, description="Data service requests one user may make a second, on average (then 429)."
    )
    user_request_burst: int = Field(100, gt=0, description="...and at once after a pause.")
    user_concurrent: int = Field(
        4, gt=0, description="Data service requests one user may have in progress at once (then 429)."
    )
    stranger_requests_per_second: float = Field(
        5.0, gt=0, description="Data service requests one address may have refused for their token (401, 403) or "
        "failing without one, a second on average; then 429 for all but tokens that signed in lately.")
    stranger_request_burst: int = Field(50, gt=0, description="...and at once after a pause.")
    receive_seconds: float = Field(
        10.0, gt=0, description="A client must send a whole request (headers and body) within this many seconds "
        "of connecting or of its last answer, else the data service closes the connection.")
    sessions_sealed: bool = Field(
        False, description="Every session that can reach the data service is sealed (the hub sets it with "
        "CAMPUS_HUB_SPAWNER=sandbox). Rows of datasets with identifiers are given to sealed sessions only.")
    queries_at_once: int = Field(
        default_factory=lambda: max(2, os.cpu_count() or 2),
        gt=0, description="Queries the data service runs at once; while others wait, one user gets at most half.",
    )

    # the policy engine: which one decides (campus.policy.make_engine)
    policy_engine: Literal["rego", "opa"] | None = Field(
        None,
        description="rego: embedded rego-cpp (one machine); opa: the OPA server at opa_url. "
        "Default: opa when opa_url is set, else rego.",
    )
    opa_url: str | None = Field(None, description="An OPA server, e.g. http://127.0.0.1:8181 (env CAMPUS_OPA_URL).")
    opa_timeout: float = Field(2.0, gt=0, description="Seconds to wait for the OPA server per request.")
    policy_reload_interval: float = Field(
        1.0, ge=0, description="Seconds between looks at the policy files for changes (0: every decision)."
    )

    @property
    def database(self) -> str:
        return self.db_url or f"sqlite:///{self.state_dir / 'campus.db'}"

    @property
    def catalog_path(self) -> Path:
        return self.root / "datasets" / "catalog.yaml"

    @property
    def data(self) -> Path:
        return self.data_dir or self.state_dir / "data"

    @property
    def policy_engine_in_use(self) -> Literal["rego", "opa"]:
        """The policy engine in use.

        >>> Settings(policy_engine=None, opa_url=None).policy_engine_in_use
        'rego'
        >>> Settings(policy_engine=None, opa_url="http://opa:8181").policy_engine_in_use
        'opa'
        """
        if self.policy_engine == "opa" and not self.opa_url:
            raise ConfigError("CAMPUS_POLICY_ENGINE=opa needs CAMPUS_OPA_URL (e.g. http://127.0.0.1:8181)")
        return self.policy_engine or ("opa" if self.opa_url else "rego")


class AirlockSettings(BaseSettings):
    """The export airlock, from ``CAMPUS_AIRLOCK_<NAME>`` environment variables (e.g.
    ``CAMPUS_AIRLOCK_REVIEWERS_REQUIRED=2`` for two-reviewer mode)."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_AIRLOCK_")

    store_dir: Path | None = Field(
        None, description="Where checked tables and files are kept (by sha256); defaults to <state_dir>/airlock."
    )
    reviewers_required: int = Field(
        1, ge=1, le=2,
        description="Distinct reviewers who must approve a request before it can be released (2: two-reviewer mode).",
    )
    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0, description="The largest file (figure) that can be exported.")
    page_rows: int = Field(500, gt=0, description="Rows of a checked table shown on the review page.")
    requests_per_day: int = Field(50, gt=0, description="Export requests one user may make in 24 hours.")
    bytes_per_day: int = Field(
        200 * 1024 * 1024, gt=0, description="Bytes of tables and files one user may submit for export in 24 hours."
    )
    pages_url: str | None = Field(
        None, description="Where people open the airlock's pages (e.g. https://campus.example/services/data/airlock); "
                          "e-mails and refusals link to a request under it. The hub sets it from its bind URL.")
    smtp_host: str | None = Field(
        None, description="The mail server that tells requesters and reviewers when a request moves; no e-mail "
                          "when unset (the pages still show what changed).")
    smtp_port: int = Field(25, gt=0, lt=65536, description="The mail server's port.")
    smtp_from: str = Field("campus-airlock@localhost", description="The sender of the airlock's e-mails.")


# --------------------------------------------------------------------------- the hub


class HubSettings(BaseSettings):
    """The campus hub, from ``CAMPUS_HUB_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_HUB_")

    bind_url: str = Field("http://127.0.0.1:8000",
                          description="Where people reach the campus (the proxy listens here).")
    internal_url: str = Field("http://127.0.0.1:8081",
                              description="Where the hub itself listens (its REST API is under /hub/api).")
    proxy_api_url: str = Field("http://127.0.0.1:8001", description="The proxy's own REST API (loopback only).")
    proxy: Path | None = Field(None, description="The node configurable-http-proxy [default: .venv/node/"
                                                 "node_modules/.bin/configurable-http-proxy, installed by "
                                                 "scripts/node-proxy].")
    state_dir: Path | None = Field(None, description="The hub's database, cookie secret, admin token and "
                                                    "account passwords [default: <CAMPUS_STATE_DIR>/hub].")
    db_url: str | None = Field(None, description="The hub's own database (SQLAlchemy URL) [default: SQLite in "
                                                 "state_dir; postgresql://... to scale out].")
    auth: Literal["native", "oidc"] = Field("native", description="native: campus accounts (admins create them and "
                                            "set passwords); oidc: campus SSO (the CAMPUS_OIDC_* settings).")
    spawner: str = Field("sandbox", description="sandbox: the bubblewrap spawner (the hub runs as root); local: a "
                                                "server per Unix user (LocalProcessSpawner); simple: no Unix users, "
                                                "for tests only; or a class path.")
    data_service: bool = Field(True, description="Run the data service (`campus serve`) as the managed service `data`.")
    data_url: str = Field("http://127.0.0.1:8300", description="Where the data service listens (loopback).")
    data_user: str | None = Field(None, description="The Unix user the data service runs as (the only one that can "
                                                    "read the raw data) [default: the hub's].")
    cull_idle: int = Field(3600, ge=0, description="Stop notebook servers idle this many seconds (0: never).")
    max_failed_logins: int = Field(5, ge=1, description="Wrong passwords in a row before a name is locked "
                                                        "(native sign-in); four times as many from one address "
                                                        "lock the address.")
    lockout_seconds: int = Field(600, ge=1, description="How long a locked name or address waits before the next try.")
    proxy_addresses: str = Field("127.0.0.1", description="Where the campus's own proxy connects to the hub from, "
                                 "comma-separated: only requests from these have their X-Forwarded-For read (for "
                                 "the client's address, which locks after many wrong passwords); sessions' relays "
                                 "connect from 127.77.0.0/16, never one of these.")
    api_url: str | None = Field(None, description="The hub's REST API for the admin commands [default: "
                                                  "JUPYTERHUB_API_URL, else <internal_url>/hub/api].")
    token: SecretStr | None = Field(None, description="The admin commands' API token [default: the one the hub "
                                                      "keeps in <state_dir>/admin-token].")
    users_file: Path | None = Field(None, description="The provisioning file [default: <CAMPUS_ROOT>/hub/users.yaml].")

    @property
    def state(self) -> Path:
        return self.state_dir or Settings().state_dir / "hub"

    @property
    def users_path(self) -> Path:
        return self.users_file or Settings().root / "hub" / "users.yaml"

    @property
    def proxies(self) -> frozenset[str]:
        """The proxy's addresses; refused if one is a sealed session's.

        >>> sorted(HubSettings(proxy_addresses="127.0.0.1, ::1").proxies)
        ['127.0.0.1', '::1']
        """
        from .hub.network import is_session

        found = frozenset(split(self.proxy_addresses))
        if not found or any(is_session(a) for a in found):
            raise ConfigError("CAMPUS_HUB_PROXY_ADDRESSES must name the proxy's addresses, and none in 127.77.0.0/16 "
                              "(where sealed sessions' connections come from), e.g. 127.0.0.1")
        return found

    @property
    def proxy_command(self) -> Path:
        return self.proxy or PROJECT_ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def token_file(self) -> Path:
        return self.state / "admin-token"

    @property
    def password_file(self) -> Path:
        return self.state / "passwords"

    @property
    def api(self) -> str:
        url = self.api_url or os.environ.get("JUPYTERHUB_API_URL") or self.internal_url.rstrip("/") + "/hub/api"
        return url.rstrip("/") + "/"

    def admin_token(self, *, create: bool = False) -> str:
        """The admin API token: CAMPUS_HUB_TOKEN, else the hub's token file (made if `create`)."""
        if self.token is not None:
            return self.token.get_secret_value()
        try:
            return self.token_file.read_text().strip()
        except FileNotFoundError:
            if not create:
                raise HubUnavailable(
                    f"no admin token: set CAMPUS_HUB_TOKEN, or start the hub once (it writes {self.token_file}) "
                    "and run this as a user who can read that file") from None
        except PermissionError:
            raise HubUnavailable(f"cannot read {self.token_file}: run this as the campus admin, or set "
                                 "CAMPUS_HUB_TOKEN") from None
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(32)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        return token


class OidcSettings(BaseSettings):
    """Campus SSO (``CAMPUS_HUB_AUTH=oidc``), from ``CAMPUS_OIDC_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_OIDC_")

    issuer: str | None = Field(None, description="The OpenID provider (its /.well-known/openid-configuration "
                                                 "gives the endpoints not set below).")
    client_id: str | None = Field(None, description="The hub's client id at the provider.")
    client_secret: SecretStr | None = Field(None, description="The hub's client secret.")
    authorize_url: str | None = Field(None, description="[default: discovered from the issuer]")
    token_url: str | None = Field(None, description="[default: discovered from the issuer]")
    userinfo_url: str | None = Field(None, description="[default: discovered from the issuer]")
    callback_url: str | None = Field(None, description="Registered at the provider [default: "
                                                       "<CAMPUS_HUB_BIND_URL>/hub/oauth_callback].")
    scopes: str = Field("openid profile email groups", description="The scopes asked for, space-separated.")
    username_claim: str = Field("preferred_username", description="The claim that is the campus user name.")
    groups_claim: str = Field("groups", description="The claim that lists the user's groups.")
    allowed_groups: str | None = Field(None, description="Who may sign in, comma-separated [default: every group "
                                                         "in users.yaml].")
    admin_groups: str = Field(ADMIN_GROUP, description="Members are hub admins, comma-separated.")

    def endpoints(self) -> dict[str, str]:
        """The three endpoints, discovered from the issuer where not set."""
        found = {"authorize_url": self.authorize_url, "token_url": self.token_url, "userinfo_url": self.userinfo_url}
        if all(found.values()):
            return found  # type: ignore[return-value]
        if not self.issuer:
            raise ConfigError("campus SSO needs CAMPUS_OIDC_ISSUER (or all of CAMPUS_OIDC_AUTHORIZE_URL, "
                              "CAMPUS_OIDC_TOKEN_URL and CAMPUS_OIDC_USERINFO_URL)")
        import httpx

        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            meta = httpx.get(url, timeout=15).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as e:
            raise ConfigError(f"cannot read the OpenID configuration at {url} ({e}); check CAMPUS_OIDC_ISSUER, or "
                              "set the CAMPUS_OIDC_*_URL endpoints") from None
        keys = {"authorize_url": "authorization_endpoint", "token_url": "token_endpoint",
                "userinfo_url": "userinfo_endpoint"}
        return {name: value or meta[keys[name]] for name, value in found.items()}


def split(names: str | None) -> set[str]:
    """``"a, b,,c"`` → ``{"a", "b", "c"}``."""
    return {n.strip() for n in (names or "").split(",") if n.strip()}


class SandboxSettings(BaseSettings):
    """The sandboxed notebook servers, from ``CAMPUS_SANDBOX_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUS_SANDBOX_")

    homes_dir: Path = Field(Path("/home"), description="Where the researchers' private homes are: "
                                                        "<homes_dir>/<account>. Hidden from every server but "
                                                        "the owner's.")
    instance: str | None = Field(None, pattern=r"^[a-z][a-z0-9]{0,11}$", description="This campus's name on the "
                                 "machine: its researchers' Unix accounts, homes, disk images, cgroups and network "
                                 "namespaces carry it, so that two campuses on one machine never share one "
                                 "[default: derived from CAMPUS_STATE_DIR].")
    account_prefix: str | None = Field(None, description="Unix account of campus user NAME: <prefix>NAME (made "
                                                         "with useradd --system if missing) [default: "
                                                         "campus-<instance>-].")
    templates_dir: Path = Field(PROJECT_ROOT / "notebooks" / "templates",
                                description="Notebook templates copied into a new home's templates/ folder.")
    max_processes: int = Field(512, ge=32, description="Processes and threads one session may run at once, by "
                                                      "default (its cgroup's pids.max; hub/users.yaml `limits:` "
                                                      "sets it per group or project).")
    memory: ByteSize = Field(ByteSize(4 * 2**30), description="Memory of one session by default: server, kernels "
                                                              "and what they start (its cgroup's limit; each process "
                                                              "also gets RLIMIT_DATA at it), e.g. 8G or 8GiB.")
    cpus: float = Field(1.0, gt=0, description="CPU cores one session may use at once, by default (its cgroup's "
                                               "CFS quota).")
    home_size: ByteSize = Field(ByteSize(5 * 2**30), description="Size of each researcher's home, by default: an "
                                                                 "ext4 image of that size mounted over it.")
    tmp_size: ByteSize = Field(ByteSize(2**30), description="Size of the session's private /tmp and /dev/shm "
                                                            "(memory, counted in its memory limit).")
    relay_connections: int = Field(64, ge=4, le=4096, description="Connections one session may hold at once "
                                   "through the hub's relays: its kernel's and server's to the hub's API and the "
                                   "data service together, and (counted apart) the proxy's to its server. More are "
                                   "refused at once, and the hub's log says so at most once a minute per session.")
    relay_idle_seconds: float = Field(600.0, gt=0, description="A relayed connection across which nothing has "
                                      "passed either way for this many seconds is closed (longer than a query may "
                                      "run: CAMPUS_QUERY_SECONDS).")

    @property
    def instance_name(self) -> str:
        """CAMPUS_SANDBOX_INSTANCE, else a name that only this campus's state folder gives.

        >>> SandboxSettings(instance="north").instance_name
        'north'
        """
        if self.instance:
            return self.instance
        return "c" + hashlib.sha256(str(Settings().state_dir.resolve()).encode()).hexdigest()[:5]

    @property
    def prefix(self) -> str:
        """What every Unix account of this campus's researchers starts with."""
        return self.account_prefix if self.account_prefix is not None else f"campus-{self.instance_name}-"

