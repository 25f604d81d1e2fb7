"""deploy/: the campus on Kubernetes, checked without a cluster.

There is no Kubernetes, Docker or helm here, so nothing is installed or run. What the
tests check instead:

* ``values.yaml`` sets only values the Zero to JupyterHub chart declares, with the
  types its ``values.schema.yaml`` gives them (`CHART_KEYS`), and the hub configuration
  the chart makes of them is taken by the real classes (JupyterHub, GenericOAuthenticator,
  KubeSpawner) and the roles by JupyterHub's own role loader;
* its roles and scopes are those of ``hub/jupyterhub_config.py`` with campus SSO;
* the notebook pod KubeSpawner makes from it, and every manifest of ``data-service.yaml``,
  validate against the Kubernetes OpenAPI schema (kubernetes-validate, strict);
* the security properties: notebooks reach only the data service (and the hub); only
  notebooks, the hub and the proxy reach the data service; no secret is written inline,
  and every Secret referred to is one that ``deploy/README.md`` creates.
"""

from __future__ import annotations

import asyncio
import copy
import json
import ipaddress
import os
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from traitlets.config import Config

from campus.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
KUBERNETES = "1.33"  # native sidecars (restartPolicy: Always on an init container) are GA from 1.33

# Zero to JupyterHub: each value this deployment sets, with the JSON type the chart's
# jupyterhub/values.schema.yaml declares for it (read by hand: 3.x, and 4.x removed none of
# these). helm refuses values the schema does not declare.
CHART_KEYS = {
    "fullnameOverride": "string",
    "hub.db.type": "string",
    "hub.db.url": "string",
    "hub.extraEnv": "object",
    "hub.config": "object",
    "hub.services": "object",
    "hub.loadRoles": "object",
    "cull.enabled": "boolean",
    "cull.timeout": "integer",
    "cull.every": "integer",
    "singleuser.image.name": "string",
    "singleuser.image.tag": "string",
    "singleuser.defaultUrl": "string",
    "singleuser.cpu.limit": "number",
    "singleuser.cpu.guarantee": "number",
    "singleuser.memory.limit": "number|string",
    "singleuser.memory.guarantee": "number|string",
    "singleuser.storage.capacity": "string",
    "singleuser.extraEnv": "object",
    "singleuser.networkPolicy.enabled": "boolean",
    "singleuser.networkPolicy.egressAllowRules.cloudMetadataServer": "boolean",
    "singleuser.networkPolicy.egressAllowRules.dnsPortsCloudMetadataServer": "boolean",
    "singleuser.networkPolicy.egressAllowRules.dnsPortsKubeSystemNamespace": "boolean",
    "singleuser.networkPolicy.egressAllowRules.dnsPortsPrivateIPs": "boolean",
    "singleuser.networkPolicy.egressAllowRules.nonPrivateIPs": "boolean",
    "singleuser.networkPolicy.egressAllowRules.privateIPs": "boolean",
    "singleuser.networkPolicy.egress": "array",
}
JSON_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool, "integer": int, "number": (int, float)}

# The traits the chart's jupyterhub_config.py sets from the singleuser values used here.
SPAWNER_TRAITS = {
    "singleuser.defaultUrl": ("Spawner", "default_url"),
    "singleuser.cpu.limit": ("KubeSpawner", "cpu_limit"),
    "singleuser.cpu.guarantee": ("KubeSpawner", "cpu_guarantee"),
    "singleuser.memory.limit": ("KubeSpawner", "mem_limit"),
    "singleuser.memory.guarantee": ("KubeSpawner", "mem_guarantee"),
    "singleuser.storage.capacity": ("KubeSpawner", "storage_capacity"),
    "singleuser.extraEnv": ("KubeSpawner", "environment"),
}

# The egress rules the chart can add to a notebook pod's NetworkPolicy (egressAllowRules),
# by what each opens. Its defaults open the internet (nonPrivateIPs); the campus opens DNS only.
NOTEBOOK_EGRESS_OPENS = {
    "nonPrivateIPs": "the internet",
    "privateIPs": "every pod and node of the cluster",
    "cloudMetadataServer": "the cloud's metadata server",
    "dnsPortsCloudMetadataServer": "port 53 of the cloud's metadata server",
}
NOTEBOOK_DNS = {"dnsPortsKubeSystemNamespace", "dnsPortsPrivateIPs"}  # port 53 only

# The labels the chart gives the hub and proxy pods (jupyterhub.matchLabels, without release).
CHART_POD_LABELS = {
    "hub": {"app": "jupyterhub", "component": "hub"},
    "proxy": {"app": "jupyterhub", "component": "proxy"},
}

SECRETISH = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY$|DB_URL$", re.IGNORECASE)
SECRET_KEYS = re.compile(r"api_?token|apiToken|secret|password|cookieSecret|secretToken|auth_token|keys$",
                         re.IGNORECASE)


# --------------------------------------------------------------------------- the files


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "data-service.yaml").read_text()) if doc]


def the(docs: list[dict], kind: str, name: str) -> dict:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def deployment(docs) -> dict:
    return the(docs, "Deployment", "campus-data")


@pytest.fixture(scope="module")
def pod(deployment) -> dict:
    return deployment["spec"]["template"]


def container(pod: dict, name: str) -> dict:
    [found] = [c for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []) if c["name"] == name]
    return found


def plain_env(c: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def secret_refs(c: dict) -> dict[str, tuple[str, str]]:
    return {e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def env_list(extra_env: dict) -> list[dict]:
    """The chart's extraEnv (a mapping) as Kubernetes EnvVar entries, as the chart renders it."""
    return [{"name": k, "value": v} if isinstance(v, str) else {"name": k, **v} for k, v in extra_env.items()]


def at(tree: dict, path: str):
    for key in path.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector (matchLabels only) selects a pod with these labels."""
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are checked here: {selector}"
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def validate(resource: dict) -> None:
    kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def egress_policy(pod_labels: dict, egress: list) -> dict:
    """A NetworkPolicy holding these egress rules, to validate them as Kubernetes would."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "check"},
            "spec": {"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Egress"], "egress": egress}}


# --------------------------------------------------------------------------- the hub the chart makes


def hub_config(values: dict) -> Config:
    """The traitlets config the chart's jupyterhub_config.py makes of these values (the parts
    this deployment sets): hub.config as it is, then hub.db, hub.services, hub.loadRoles and
    the singleuser values mapped onto their traits."""
    values = copy.deepcopy(values)
    c = Config()
    for section, traits in values["hub"]["config"].items():
        c[section].update(traits)
    c.JupyterHub.db_url = values["hub"]["db"]["url"]
    # The chart fills each service's api_token in from its Secret.
    c.JupyterHub.services = [{"name": name, **spec, "api_token": f"token-of-{name}"}
                             for name, spec in values["hub"]["services"].items()]
    c.JupyterHub.load_roles = [{"name": name, **role} for name, role in values["hub"]["loadRoles"].items()]
    for path, (section, trait) in SPAWNER_TRAITS.items():
        if at(values, path) is not None:
            c[section][trait] = at(values, path)
    image = values["singleuser"]["image"]
    c.KubeSpawner.image = f"{image['name']}:{image['tag']}"
    return c


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory):
    """KubeSpawner loads a Kubernetes client configuration when it is made; give it one that
    names no reachable cluster (nothing here talks to one)."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "none", "user": {}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(path))
        yield path


def kube_spawner(config: Config):
    """A KubeSpawner for a mock user (it makes its Kubernetes client in a running event loop)."""
    from kubespawner import KubeSpawner

    async def make():
        return KubeSpawner(_mock=True, config=config)

    return asyncio.run(make())


@pytest.fixture(scope="module")
def notebook_pod(values, kubeconfig) -> dict:
    """The notebook pod KubeSpawner makes with this configuration, as Kubernetes gets it."""
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    async def render():
        spawner = KubeSpawner(_mock=True, config=hub_config(values))
        spawner.api_token = "token-of-the-server"
        manifest = await spawner.get_pod_manifest()
        async with ApiClient() as api:
            return api.sanitize_for_serialization(manifest)

    return asyncio.run(render())


def test_values_set_only_what_the_chart_declares(values):
    def leaves(tree, prefix=""):
        for key, value in tree.items():
            path = prefix + key
            if path in CHART_KEYS or not isinstance(value, dict):
                yield path, value
            else:
                yield from leaves(value, path + ".")

    for path, value in leaves(values):
        assert path in CHART_KEYS, f"{path} is not a value of the chart this test knows (CHART_KEYS)"
        types = tuple(JSON_TYPES[t] for t in CHART_KEYS[path].split("|"))
        assert isinstance(value, types) and not (isinstance(value, bool) and bool not in types), \
            f"{path} should be a {CHART_KEYS[path]}, not {value!r}"


def test_the_hub_configuration_is_taken_by_the_real_classes(values, kubeconfig, monkeypatch):
    from jupyterhub.app import JupyterHub
    from oauthenticator.generic import GenericOAuthenticator

    monkeypatch.setenv("OAUTH_CLIENT_SECRET", "from-the-secret")  # hub.extraEnv, from the Secret campus-sso
    c = hub_config(values)
    made = {
        "JupyterHub": JupyterHub(config=c),
        "GenericOAuthenticator": GenericOAuthenticator(config=c),
        "KubeSpawner": kube_spawner(c),
    }
    made["Spawner"] = made["KubeSpawner"]
    assert made["JupyterHub"].authenticator_class is GenericOAuthenticator
    for section, traits in c.items():
        assert section in made, f"hub.config.{section} configures no class the hub uses"
        configured = made[section]
        for name, value in traits.items():
            trait = configured.traits(config=True).get(name)
            assert trait is not None, f"{section}.{name} is not a setting of {type(configured).__name__}"
            assert getattr(configured, name) == trait.validate(configured, copy.deepcopy(value)), \
                f"{section}.{name} did not reach {type(configured).__name__}"

    sso = made["GenericOAuthenticator"]
    assert sso.client_secret == "from-the-secret"
    groups = asyncio.run(sso.get_user_groups({"oauth_user": {"groups": ["researchers", "stewards"]}}))
    assert groups == {"researchers", "stewards"}


def test_roles_and_scopes_are_those_of_the_one_machine_hub(values, tmp_path, monkeypatch):
    """hub/jupyterhub_config.py with campus SSO, and the chart's hub from values.yaml, grant
    the same scopes to the same users, groups and services."""
    from traitlets.config.loader import PyFileConfigLoader

    from campus.settings import OidcSettings

    for name in [n for n in os.environ if n.startswith("CAMPUS_")]:
        monkeypatch.delenv(name)  # the defaults, whatever this shell has set
    for name, value in {
        "CAMPUS_HUB_AUTH": "oidc", "CAMPUS_HUB_PROXY": "/bin/true", "CAMPUS_HUB_STATE_DIR": str(tmp_path / "hub"),
        "CAMPUS_STATE_DIR": str(tmp_path / "state"), "CAMPUS_OIDC_CLIENT_ID": "hub", "CAMPUS_OIDC_CLIENT_SECRET": "s",
        "CAMPUS_OIDC_AUTHORIZE_URL": "https://sso.test/a", "CAMPUS_OIDC_TOKEN_URL": "https://sso.test/t",
        "CAMPUS_OIDC_USERINFO_URL": "https://sso.test/u",
    }.items():
        monkeypatch.setenv(name, value)
    one_machine = PyFileConfigLoader("jupyterhub_config.py", path=str(PROJECT_ROOT / "hub")).load_config()
    chart = hub_config(values)

    def by_name(roles):
        return {r["name"]: {k: sorted(v) for k, v in r.items() if k != "name"} for r in roles}

    services = {s["name"]: s for s in one_machine.JupyterHub.services}
    culler = shlex.join(services.pop("idle-culler")["command"])
    roles = by_name(r for r in one_machine.JupyterHub.load_roles if r["name"] != "idle-culler")
    assert by_name(chart.JupyterHub.load_roles) == roles
    assert set(values["hub"]["services"]) == set(services)
    assert sorted(chart.KubeSpawner.server_token_scopes) == sorted(one_machine.Spawner.server_token_scopes)

    # The idle culler: the chart runs it from cull.* (with a role of its own), on the same timings.
    assert f"--timeout={values['cull']['timeout']}" in culler and f"--cull-every={values['cull']['every']}" in culler

    # Campus SSO: the same claims, groups and admins (the endpoints and client are the site's).
    sso, ours = one_machine.GenericOAuthenticator, chart.GenericOAuthenticator
    for name in ("login_service", "scope", "username_claim", "manage_groups", "allowed_groups", "admin_groups",
                 "allow_existing_users"):
        assert same(ours[name], sso[name]), f"GenericOAuthenticator.{name}: {ours[name]!r} here, {sso[name]!r} there"
    assert ours.auth_state_groups_key == f"oauth_user.{OidcSettings().groups_claim}"


def same(a, b) -> bool:
    """Equal, taking lists and sets of the same items as equal."""
    if isinstance(a, (list, set, tuple)) and isinstance(b, (list, set, tuple)):
        return sorted(a) == sorted(b)
    return a == b


def test_the_roles_load_into_jupyterhub_and_users_cannot_mint_tokens(values):
    from jupyterhub import orm
    from jupyterhub.roles import create_role
    from jupyterhub.scopes import expand_scopes

    db = orm.new_session_factory("sqlite://")()
    for name, role in values["hub"]["loadRoles"].items():
        create_role(db, {"name": name, **role})  # unknown scopes or bad names raise
        unknown = set(role.get("services", [])) - set(values["hub"]["services"])
        assert not unknown, f"role {name} names services the hub does not have: {unknown}"

    granted = expand_scopes([s.split("!")[0] for s in values["hub"]["loadRoles"]["user"]["scopes"]])
    assert "tokens" not in granted and "shares" not in granted, "users could mint tokens or share servers"
    reach = {s for s in values["hub"]["config"]["KubeSpawner"]["server_token_scopes"] if s.startswith("access:")}
    assert reach == {"access:servers!server", "access:services!service=data"}, "the server's token reaches more"


# --------------------------------------------------------------------------- notebook pods


def test_the_notebook_pod_is_valid_and_limited(values, notebook_pod):
    validate(notebook_pod)
    [server] = notebook_pod["spec"]["containers"]
    assert set(server["resources"]["limits"]) == {"cpu", "memory"}
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["CAMPUS_SERVICE_URL"] == values["singleuser"]["extraEnv"]["CAMPUS_SERVICE_URL"]
    assert env["JUPYTERHUB_DISABLE_USER_CONFIG"] == "1"


def test_notebooks_reach_only_the_data_service(values, pod):
    """Beyond the hub (which the chart's policy always allows) and DNS."""
    policy = values["singleuser"]["networkPolicy"]
    rules = policy["egressAllowRules"]
    assert policy["enabled"] is True
    assert set(rules) == set(NOTEBOOK_EGRESS_OPENS) | NOTEBOOK_DNS, "set each rule: the chart's defaults are open"
    for rule, opens in NOTEBOOK_EGRESS_OPENS.items():
        assert rules[rule] is False, f"egressAllowRules.{rule} lets notebooks reach {opens}"
    assert any(rules[rule] for rule in NOTEBOOK_DNS), "notebooks could not resolve the data service's name"

    data_port = {p["containerPort"] for p in container(pod, "data-service")["ports"] if p["name"] == "http"}
    for rule in policy["egress"]:
        for peer in rule["to"]:
            assert set(peer) == {"podSelector"}, f"a notebook egress rule reaches beyond the data service: {peer}"
            assert selects(peer["podSelector"], pod["metadata"]["labels"]), f"{peer} is not the data service"
        assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("TCP", port) for port in data_port}
    validate(egress_policy({"component": "singleuser-server"}, policy["egress"]))


def test_the_notebook_image_carries_the_campus_lockdown(tmp_path):
    """No terminals, no /files/, no nbconvert, no download or export buttons, no file's body
    from the contents API, outputs capped: the image copies
    hub/singleuser/ (the sandboxed servers' settings) where Jupyter looks for system config."""
    from jupyter_core.paths import SYSTEM_CONFIG_PATH
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from jupyterlab.commands import get_app_dir
    from traitlets.config.loader import PyFileConfigLoader

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    singleuser = dockerfile[dockerfile.index("AS singleuser"):]
    copied = re.search(r"^COPY hub/singleuser/ (\S+)$", singleuser, re.MULTILINE)
    assert copied and Path(copied.group(1)) in [Path(d) for d in SYSTEM_CONFIG_PATH]

    lockdown = PROJECT_ROOT / "hub" / "singleuser"
    config = PyFileConfigLoader("jupyter_server_config.py", path=str(lockdown)).load_config()
    server = ServerApp(config=config)
    assert server.config_file_name == "jupyter_server_config"
    assert server.terminals_enabled is False
    assert FileContentsManager(config=config).files_handler_class is None
    assert {"nbconvert", "terminals"} <= config.ServerApp.authorizer_class.refused
    assert server.contents_manager_class.__name__ == "ReadingContentsManager"  # no file's body to the browser
    assert server.kernel_websocket_connection_class.__name__ == "ScreenedConnection"  # outputs capped

    page = json.loads((lockdown / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"] == page["lockedExtensions"]
    bundle = "".join(p.read_text(errors="ignore") for p in (Path(get_app_dir()) / "static").glob("*.js"))
    for plugin in page["disabledExtensions"]:
        assert f'"{plugin}"' in bundle or f"'{plugin}'" in bundle, f"JupyterLab has no plugin {plugin}"


# --------------------------------------------------------------------------- the data service


def test_every_manifest_is_valid_kubernetes(docs):
    for doc in docs:
        validate(doc)  # strict: a misspelt or misplaced field fails


def test_only_notebooks_the_hub_and_the_proxy_reach_the_data_service(docs, pod, notebook_pod):
    allowed = [notebook_pod["metadata"]["labels"], *CHART_POD_LABELS.values()]
    data_port = {p["containerPort"] for p in container(pod, "data-service")["ports"] if p["name"] == "http"}
    admitting = [d for d in docs if d["kind"] == "NetworkPolicy" and "Ingress" in d["spec"]["policyTypes"]
                 and selects(d["spec"]["podSelector"], pod["metadata"]["labels"])]
    assert admitting, "no NetworkPolicy limits who reaches the data service"
    for policy in admitting:
        for rule in policy["spec"]["ingress"]:
            assert rule.get("from"), "an ingress rule without `from` admits everyone"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{peer} admits pods outside the namespace or by address"
                assert any(selects(peer["podSelector"], labels) for labels in allowed), peer
            assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("TCP", port) for port in data_port}
    # each kind of caller is admitted
    for labels in allowed:
        assert any(selects(peer["podSelector"], labels)
                   for policy in admitting for rule in policy["spec"]["ingress"] for peer in rule["from"]), labels


def test_the_data_service_reaches_only_named_peers(docs, pod):
    env = plain_env(container(pod, "data-service"))
    limiting = [d for d in docs if d["kind"] == "NetworkPolicy" and "Egress" in d["spec"]["policyTypes"]
                and selects(d["spec"]["podSelector"], pod["metadata"]["labels"])]
    assert limiting, "no NetworkPolicy limits where the data service connects"
    for policy in limiting:
        for rule in policy["spec"]["egress"]:
            assert rule.get("to") and rule.get("ports"), f"an egress rule open to every address or port: {rule}"
            for block in [peer["ipBlock"] for peer in rule["to"] if "ipBlock" in peer]:
                assert ipaddress.ip_network(block["cidr"]).num_addresses == 1, f"{block} reaches a whole network"
    hub = urlsplit(env["JUPYTERHUB_API_URL"])
    assert any(selects(peer.get("podSelector", {"matchLabels": {}}), CHART_POD_LABELS["hub"])
               and {"protocol": "TCP", "port": hub.port} in rule["ports"]
               for policy in limiting for rule in policy["spec"]["egress"] for peer in rule["to"]), \
        "the data service cannot ask the hub who a token is"
    assert pod["metadata"]["labels"].get("hub.jupyter.org/network-access-hub") == "true", \
        "the hub's own NetworkPolicy admits only pods with this label"


def test_the_data_service_is_the_hubs_service_data(values, docs, pod, monkeypatch):
    from jupyterhub.services.auth import HubOAuth
    from jupyterhub.services.service import Service

    from campus.client import service_url
    from campus.service.app import base_path

    data = container(pod, "data-service")
    env = plain_env(data)
    name = env["JUPYTERHUB_SERVICE_NAME"]
    registered = values["hub"]["services"][name]
    service = the(docs, "Service", urlsplit(registered["url"]).hostname)
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    [port] = [p for p in service["spec"]["ports"] if p["port"] == urlsplit(registered["url"]).port]
    assert port["targetPort"] in {p["name"] for p in data["ports"]}

    # The token is the one the chart keeps for this service in its Secret `hub`.
    assert secret_refs(data)["JUPYTERHUB_API_TOKEN"] == ("hub", f"hub.services.{name}.apiToken")

    # HubOAuth in the service reads what the hub would give a service it started.
    hub_service = Service(name=name, url=registered["url"], base_url=env["JUPYTERHUB_BASE_URL"])
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == hub_service.prefix
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "token-of-data")
    auth = HubOAuth()
    assert auth.oauth_client_id == hub_service.oauth_client_id
    assert auth.oauth_redirect_uri == hub_service.prefix + "oauth_callback"
    assert auth.access_scopes == {f"access:services!service={name}"}
    assert values["fullnameOverride"] == "" and urlsplit(auth.api_url).hostname == "hub"  # the chart's Service

    # Notebooks and probes find it where it serves.
    assert service_url(values["singleuser"]["extraEnv"]) == registered["url"] + hub_service.prefix
    for probe in ("readinessProbe", "livenessProbe"):
        assert data[probe]["httpGet"]["path"] == base_path(hub_service.prefix) + "/health"


def test_the_data_service_command_is_campus_serve_with_hub_auth(pod):
    import typer

    from campus.cli import _mount, app

    _mount()
    program, subcommand, *args = container(pod, "data-service")["command"]
    assert (program, subcommand) == ("campus", "serve")
    serve = typer.main.get_command(app).commands[subcommand]
    options = serve.make_context(subcommand, list(args)).params  # unknown options raise
    assert options["auth"] == "hub" and options["host"] == "0.0.0.0"
    assert options["port"] in {p["containerPort"] for p in container(pod, "data-service")["ports"]}


def test_every_campus_setting_in_the_manifest_exists_and_parses(pod, monkeypatch):
    from campus.settings import AirlockSettings, Settings

    classes = (Settings, AirlockSettings)
    declared = {cls.model_config["env_prefix"] + field.upper(): cls for cls in classes for field in cls.model_fields}
    data = container(pod, "data-service")
    for name in [e["name"] for e in data["env"] if e["name"].startswith("CAMPUS_")]:
        assert name in declared, f"{name} is no campus setting"
    for key, value in plain_env(data).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CAMPUS_DB_URL", "postgresql+psycopg://campus@campus-postgres/campus")  # from its Secret
    for cls in classes:
        cls()  # values that do not parse raise
    assert Settings().policy_engine_in_use == "opa"


def test_opa_listens_only_inside_the_pod(pod):
    opa = container(pod, "opa")
    assert opa.get("restartPolicy") == "Always", "OPA should be a sidecar, started before the service"
    assert "ports" not in opa
    [address] = [a.split("=", 1)[1] for a in opa["args"] if a.startswith("--addr=")]
    host, port = address.rsplit(":", 1)
    assert ipaddress.ip_address(host).is_loopback
    url = urlsplit(plain_env(container(pod, "data-service"))["CAMPUS_OPA_URL"])
    assert ipaddress.ip_address(url.hostname).is_loopback and url.port == int(port)


def test_scaled_out_replicas_share_what_must_be_shared(docs, deployment, pod):
    from campus.engines import Limits

    data = container(pod, "data-service")
    env = plain_env(data)
    mounts = {m["mountPath"]: m for m in data["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}

    # The noise secret, where campus.campus.noise_secret reads it: the same for every replica.
    noise = mounts[str(Path(env["CAMPUS_STATE_DIR"]) / "noise.secret")]
    assert "secret" in volumes[noise["name"]] and noise["readOnly"]
    # The pseudonym secret, where campus.campus.pseudonym_secret reads it: a project's
    # pseudonyms are the same whichever replica answers, and after a restart.
    pseudonyms = mounts[str(Path(env["CAMPUS_STATE_DIR"]) / "pseudonym.secret")]
    assert "secret" in volumes[pseudonyms["name"]] and pseudonyms["readOnly"]
    # The Parquet is read-only to the service; DuckDB may spill up to its limit.
    assert mounts[env["CAMPUS_DATA_DIR"]]["readOnly"] is True
    spill = volumes[mounts[env["CAMPUS_STATE_DIR"]]["name"]]["emptyDir"]["sizeLimit"]
    assert size(spill) >= size(Limits().temp_space)
    assert size(data["resources"]["limits"]["memory"]) > size(env["CAMPUS_QUERY_MEMORY"])

    if deployment["spec"]["replicas"] > 1:
        airlock = volumes[mounts[env["CAMPUS_AIRLOCK_STORE_DIR"]]["name"]]["persistentVolumeClaim"]["claimName"]
        assert "ReadWriteMany" in the(docs, "PersistentVolumeClaim", airlock)["spec"]["accessModes"]
        # HubOAuth keeps a sign-in's state in the replica that started it.
        assert the(docs, "Service", "campus-data")["spec"].get("sessionAffinity") == "ClientIP"


def size(text: str) -> float:
    """Bytes in a Kubernetes quantity (6Gi, 512M) or a DuckDB size (4GB, 8GiB)."""
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", str(text)).groups()
    unit = unit.upper().removesuffix("B") if unit.upper() not in ("B", "") else ""
    powers = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}
    return float(number) * powers[unit]


# --------------------------------------------------------------------------- secrets


def all_env(values: dict, pod: dict) -> list[dict]:
    containers = pod["spec"]["containers"] + pod["spec"]["initContainers"]
    return [*env_list(values["hub"]["extraEnv"]), *env_list(values["singleuser"]["extraEnv"]),
            *(e for c in containers for e in c.get("env", []))]


def test_no_secret_is_written_inline(values, docs, pod):
    from sqlalchemy.engine import make_url

    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are created by the admins (deploy/README.md)"

    def keys(tree, prefix=""):
        for key, value in tree.items():
            yield prefix + key, value
            if isinstance(value, dict):
                yield from keys(value, prefix + key + ".")

    for path, value in keys(values):
        if SECRET_KEYS.search(path.rsplit(".", 1)[-1]) and not isinstance(value, dict):
            raise AssertionError(f"{path} is written in values.yaml (the chart copies values into a Secret "
                                 "everyone with the release can read): use a Secret")
    assert make_url(values["hub"]["db"]["url"]).password is None

    from_secrets = {e["name"] for e in all_env(values, pod) if "secretKeyRef" in e.get("valueFrom", {})}
    for entry in all_env(values, pod):
        if SECRETISH.search(entry["name"]):
            assert entry["name"] in from_secrets, f"{entry['name']} is written inline: take it from a Secret"
        if "value" in entry and "@" in entry["value"]:  # credentials in a URL: only from Secrets
            credentials = urlsplit(entry["value"]).netloc.rsplit("@", 1)[0]
            refs = re.findall(r"\$\((\w+)\)", credentials)
            assert refs and re.sub(r"\$\(\w+\)", "", credentials) == ":" and set(refs) <= from_secrets, entry


def test_every_secret_referred_to_is_created_in_the_readme(values, pod):
    readme = (DEPLOY / "README.md").read_text()
    commands = re.finditer(r"kubectl create secret generic (?P<name>[\w.-]+)(?P<rest>(?:[^\n]*\\\n)*[^\n]*)", readme)
    created = {(m["name"], key) for m in commands
               for key in re.findall(r"--from-(?:literal|file)=([\w.-]+)=", m["rest"])}
    referred = {ref for e in all_env(values, pod) if "secretKeyRef" in e.get("valueFrom", {})
                for ref in [(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])]}
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v}
    referred |= {(volumes[m["name"]], m["subPath"]) for c in pod["spec"]["containers"]
                 for m in c["volumeMounts"] if m["name"] in volumes}
    assert referred
    for name, key in referred:
        if name == "hub":  # the chart's own Secret: it makes an API token per hub.services entry
            service = re.fullmatch(r"hub\.services\.([\w-]+)\.apiToken", key)
            assert service and service[1] in values["hub"]["services"], key
        else:
            assert (name, key) in created, f"deploy/README.md does not create the Secret {name} with key {key}"


# --------------------------------------------------------------------------- the Spark side


@pytest.fixture(scope="module")
def spark_docs() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "spark.yaml").read_text()) if doc]


def spark_pod(spark_docs: list[dict], component: str) -> dict:
    [found] = [d for d in spark_docs if d["kind"] in ("Deployment", "StatefulSet")
               and d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == component]
    return found["spec"]["template"]


def spark_settings(pod: dict) -> tuple[str, dict]:
    env = plain_env(container(pod, "data-service"))
    return env["CAMPUS_SPARK_MASTER"], json.loads(env["CAMPUS_SPARK_CONF"])


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_every_spark_manifest_is_valid_kubernetes(spark_docs):
    for doc in spark_docs:
        validate(doc)


def test_the_data_service_drives_the_master_the_manifest_runs(spark_docs, pod):
    master, conf = spark_settings(pod)
    url = urlsplit(master)
    service = the(spark_docs, "Service", url.hostname)
    [port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    master_pod = spark_pod(spark_docs, "master")
    assert service["spec"]["selector"].items() <= master_pod["metadata"]["labels"].items()
    assert option(container(master_pod, "master")["command"], "--port") == str(url.port)
    worker = container(spark_pod(spark_docs, "worker"), "worker")
    assert master in worker["command"], "the workers join the master the data service drives"


def test_the_spark_settings_keep_the_lockdown_and_name_the_driver(pod, monkeypatch):
    from campus.engines import Limits
    from campus.engines.spark import locked
    from campus.settings import Settings

    _, conf = spark_settings(pod)
    assert not set(conf) & set(locked(Limits(), None, local=False)), "CAMPUS_SPARK_CONF may not undo the lockdown"
    env = {e["name"]: e for e in container(pod, "data-service")["env"]}
    assert conf["spark.driver.host"] == "$(POD_IP)"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    names = [e["name"] for e in container(pod, "data-service")["env"]]
    assert names.index("POD_IP") < names.index("CAMPUS_SPARK_CONF"), "the kubelet expands only earlier variables"
    ports = {p["name"]: p["containerPort"] for p in container(pod, "data-service")["ports"]}
    assert {int(conf["spark.driver.port"]), int(conf["spark.blockManager.port"])} == \
        {ports["spark-driver"], ports["spark-blocks"]}
    monkeypatch.setenv("CAMPUS_SPARK_CONF", env["CAMPUS_SPARK_CONF"]["value"])
    assert Settings().spark_conf == conf


def test_executors_fit_their_workers_and_workers_their_containers(spark_docs, pod):
    _, conf = spark_settings(pod)
    worker = container(spark_pod(spark_docs, "worker"), "worker")
    cores, memory = int(option(worker["command"], "--cores")), size(option(worker["command"], "--memory"))
    assert int(conf["spark.executor.cores"]) <= cores <= float(worker["resources"]["limits"]["cpu"])
    executor = size(conf["spark.executor.memory"])
    assert executor <= memory, "a worker offers less memory than one executor asks"
    overhead = max(384 * 2**20, 0.1 * executor)  # the JVM's off-heap, Spark's default
    daemon = 2**30  # the worker's own JVM
    assert executor + overhead + daemon <= size(worker["resources"]["limits"]["memory"])
    data = container(pod, "data-service")
    driver = size(_jvm_memory())
    assert driver + max(384 * 2**20, 0.1 * driver) + 2**30 <= size(data["resources"]["limits"]["memory"]), \
        "the data service holds the Spark driver's heap beside Python"


def _jvm_memory() -> str:
    from campus.engines import Limits
    from campus.engines.spark import locked

    return locked(Limits(), None, local=False)["spark.driver.memory"]


def test_only_the_data_service_and_spark_itself_reach_spark(spark_docs, pod, notebook_pod):
    spark_labels = [spark_pod(spark_docs, c)["metadata"]["labels"] for c in ("master", "worker")]
    callers = [pod["metadata"]["labels"], *spark_labels]
    for labels in spark_labels:
        admitting = [d for d in spark_docs if d["kind"] == "NetworkPolicy" and "Ingress" in d["spec"]["policyTypes"]
                     and selects(d["spec"]["podSelector"], labels)]
        assert admitting, "no NetworkPolicy limits who reaches the Spark pods"
        for rule in (r for d in admitting for r in d["spec"]["ingress"]):
            assert rule.get("from") and rule.get("ports"), rule
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"} and any(selects(peer["podSelector"], c) for c in callers), peer
                assert not selects(peer["podSelector"], notebook_pod["metadata"]["labels"])
    # what Spark adds to the data service: the driver's ports, from Spark pods only
    into_data = [d for d in spark_docs if d["kind"] == "NetworkPolicy" and "Ingress" in d["spec"]["policyTypes"]
                 and selects(d["spec"]["podSelector"], pod["metadata"]["labels"])]
    _, conf = spark_settings(pod)
    for rule in (r for d in into_data for r in d["spec"]["ingress"]):
        assert all(any(selects(p["podSelector"], s) for s in spark_labels) for p in rule["from"])
        assert {p["port"] for p in rule["ports"]} == {int(conf["spark.driver.port"]),
                                                      int(conf["spark.blockManager.port"])}


def test_spark_reaches_only_itself_the_driver_dns_and_the_bucket(spark_docs, pod):
    allowed = {"campus-spark", "campus-data", "campus-minio"}
    for policy in (d for d in spark_docs if d["kind"] == "NetworkPolicy" and "Egress" in d["spec"]["policyTypes"]):
        for rule in policy["spec"]["egress"]:
            assert rule.get("to") and rule.get("ports"), f"an egress rule open to every address or port: {rule}"
            for peer in rule["to"]:
                assert "ipBlock" not in peer, peer
                if "podSelector" in peer:
                    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] in allowed, peer
                else:
                    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
                    assert {p["port"] for p in rule["ports"]} == {53}


def test_spark_reads_the_bucket_with_credentials_from_the_secret(values, spark_docs, pod):
    worker = container(spark_pod(spark_docs, "worker"), "worker")
    pods = [spark_pod(spark_docs, c) for c in ("master", "worker")]
    for entry in (e for p in pods for c in p["spec"]["containers"] for e in c.get("env", [])):
        if SECRETISH.search(entry["name"]):
            assert "secretKeyRef" in entry.get("valueFrom", {}), f"{entry['name']} is written inline"
    assert secret_refs(worker) == {"AWS_ACCESS_KEY_ID": ("campus-s3", "access-key"),
                                   "AWS_SECRET_ACCESS_KEY": ("campus-s3", "secret-key")}
    assert not [d for d in spark_docs if d["kind"] == "Secret"]
    for p in pods:
        spec = p["spec"]
        assert spec["automountServiceAccountToken"] is False and spec["securityContext"]["runAsNonRoot"] is True


def test_the_spark_image_carries_the_connector_for_pysparks_own_hadoop():
    import pyspark

    jars = {p.name for p in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar")}
    [hadoop] = [re.fullmatch(r"hadoop-client-api-(.+)\.jar", j)[1] for j in jars]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stage = dockerfile[dockerfile.index("AS spark"):]
    assert f"ARG HADOOP_VERSION={hadoop}" in stage, "hadoop-aws must be the Hadoop version of pyspark's jars"
    assert '".[hub,spark]"' in stage and "openjdk-17-jre-headless" in stage
