"""The engines that evaluate the Rego: embedded (regopy) or an OPA server.

Both take the same `PolicySource` (modules + data) and answer the same entrypoint,
``data.campus.decision.result``, so the same policy gives the same decisions on one
machine and behind a fleet of OPA servers.

Both fail closed: a module that does not compile, an exception, a server that does
not answer, an undefined or malformed result all become a deny whose reason says the
policy engine failed. Nothing but a well-formed allow from the policy ever allows.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import threading
from typing import Any, Protocol
from urllib.parse import urlsplit

import regopy
from pydantic import ValidationError

from ..errors import CampusError
from .decision import Decision, engine_failed, request_document
from .files import PolicySource

ENTRYPOINT = "campus/decision/result"


def interpreter() -> regopy.Interpreter:
    """A regopy interpreter that keeps quiet: rego-cpp prints compiler errors on
    standard output (compiler_report recovers them when they are needed)."""
    rego = regopy.Interpreter()
    rego.log_level = regopy.LogLevel.NONE
    return rego


class PolicyError(CampusError):
    """The policy cannot be compiled or loaded into an engine."""

    code = "policy_error"


class Engine(Protocol):
    """Evaluates the policy. `decide` never raises; `reload` raises `PolicyError`
    and keeps the policy it had."""

    name: str

    def decide(self, input: dict) -> Decision: ...

    def reload(self, source: PolicySource) -> None: ...


def parse_decision(value: Any) -> Decision:
    """The policy's result as a Decision; `PolicyError` if it is undefined or malformed."""
    if value is None:
        raise PolicyError("the policy gave no decision (undefined)")
    try:
        return Decision.model_validate(value)
    except ValidationError as e:
        problem = e.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "result"
        message = problem["msg"].removeprefix("Value error, ")
        raise PolicyError(f"the policy gave a malformed decision ({where}: {message})") from None


class RegoEngine:
    """The embedded engine: rego-cpp in this process, through regopy.

    The modules and data are compiled once into a bundle; each decision queries the
    bundle's one entrypoint. A regopy interpreter is not thread-safe (its calls release
    the GIL and it holds the input), so each thread gets its own; they share the bundle.
    """

    name = "rego"

    def __init__(self, source: PolicySource | None = None):
        self._bundle: regopy.Bundle | None = None
        self._local = threading.local()
        if source is not None:
            self.reload(source)

    def reload(self, source: PolicySource) -> None:
        """Compile `source`, prove it decides, then start using it."""
        bundle = compile_bundle(source.modules, source.data)
        for probe in probes(source):
            try:
                parse_decision(self._evaluate(bundle, probe))
            except Exception as e:
                raise PolicyError(f"the policy fails on the request {json.dumps(probe)}: {describe_error(e)}") from None
        self._bundle = bundle

    def decide(self, input: dict) -> Decision:
        if self._bundle is None:
            return engine_failed("no policy is loaded")
        try:
            return parse_decision(self._evaluate(self._bundle, input))
        except Exception as e:  # fail closed, whatever went wrong
            return engine_failed(describe_error(e))

    def _evaluate(self, bundle: regopy.Bundle, input: dict) -> Any:
        rego = self._interpreter()
        if _needs_no_escaping(input):
            rego.set_input(regopy.Input(input))
        else:
            # regopy.Input passes strings through unescaped (a quote would break the
            # result's JSON), so anything unusual goes in as JSON text (slower).
            rego.set_input_term(json.dumps(input))
        return output_value(rego.query_bundle_entrypoint(bundle, ENTRYPOINT))

    def _interpreter(self) -> regopy.Interpreter:
        rego = getattr(self._local, "rego", None)
        if rego is None:
            rego = self._local.rego = interpreter()
        return rego


def compile_bundle(modules: dict[str, str], data: dict) -> regopy.Bundle:
    """The modules and ``data.campus`` compiled for the decision entrypoint."""
    rego = interpreter()
    try:
        for name, text in modules.items():
            rego.add_module(name, text)
        rego.add_data({"campus": data})
        bundle = rego.build(None, [ENTRYPOINT])
    except regopy.RegoError:
        raise PolicyError(f"the Rego does not compile: {compiler_report(modules)}") from None
    if not bundle.ok():
        raise PolicyError(f"the Rego does not compile: {compiler_report(modules)}")
    return bundle


_COMPILE_ALOUD = """
import json, sys, regopy
rego = regopy.Interpreter()
try:
    for name, text in json.load(sys.stdin).items():
        rego.add_module(name, text)
    rego.build(None, [sys.argv[1]])
except regopy.RegoError as e:
    print(e)
"""


def compiler_report(modules: dict[str, str]) -> str:
    """What rego-cpp says about modules that do not compile (it prints it, so compile
    them again in a child process and read what it prints)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _COMPILE_ALOUD, ENTRYPOINT],
            input=json.dumps(modules), capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"rego-cpp gave no details ({e})"
    text = done.stdout + done.stderr
    found = [f"{where}: {what.strip()}" for where, what in re.findall(r"^(\S+\.rego:\d+:\d+): (.+)$", text, re.M)]
    found += [f"{where}: {what.strip()}" for what, where in re.findall(r"^(.+)\n-- (\S+\.rego:\d+:\d+)$", text, re.M)]
    return "; ".join(dict.fromkeys(found)) or rego_message(text) or "rego-cpp gave no details"


def probes(source: PolicySource) -> list[dict]:
    """Requests that exercise the policy once loaded: an empty one, one per dataset,
    and one per grant by someone it names."""
    now = datetime.datetime.now(datetime.UTC)
    found = [{}]
    for dataset in source.catalog:
        found.append(request_document(user="probe", dataset=dataset.name, now=now))
    for grant in source.grants:
        project = source.users.projects.get(grant.project) if grant.project else None
        user = (grant.users or (project.members if project else []) or ["probe"])[0]
        columns = list(source.catalog[grant.dataset].columns)[:3]
        found.append(request_document(user=user, groups=grant.groups, project=grant.project,
                                      dataset=grant.dataset, columns=columns, now=now))
    return found


_NEEDS_ESCAPING = re.compile(r'["\\\x00-\x1f]')


def _needs_no_escaping(value: Any) -> bool:
    """Whether `value` holds only None, bools, ints, floats and strings that need no JSON escaping."""
    if isinstance(value, str):
        return not _NEEDS_ESCAPING.search(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _needs_no_escaping(k) and _needs_no_escaping(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_needs_no_escaping(v) for v in value)
    return value is None or isinstance(value, (bool, int, float))


def output_value(output: Any) -> Any:
    """The entrypoint's value from a regopy Output; None when undefined."""
    if not output.ok():
        raise PolicyError(rego_message(str(output)))
    expressions = output.results[0].expressions if output.results else []
    return expressions[0] if expressions else None


def describe_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        # regopy failed to parse what rego-cpp returned: an error, or a value it could not print
        return f"evaluation error: {rego_message(error.doc)}"
    if isinstance(error, CampusError):
        return error.reason
    return f"{type(error).__name__}: {error}"


def rego_message(text: str) -> str:
    """The human part of a rego-cpp error (its ``errormsg`` lines and locations)."""
    messages = re.findall(r"\(errormsg \d+:([^)\n]*)\)", text)
    places = re.findall(r"\(error \d+:([^|\s]+)\|", text)
    if not messages:
        return text.strip()[:300]
    where = f" (in {', '.join(dict.fromkeys(places))})" if places else ""
    return "; ".join(dict.fromkeys(messages)) + where


class OpaEngine:
    """An OPA server, through opa-python-client.

    `reload` pushes every module to ``/v1/policies/<name>`` (dropping ones it pushed
    before that are gone) and the data to ``/v1/data/campus``; `decide` asks
    ``/v1/data/campus/decision/result``.
    """

    name = "opa"

    def __init__(self, url: str, source: PolicySource | None = None, *, timeout: float = 2.0, retries: int = 0):
        from opa_client import OpaClient

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"{url!r} is not an OPA server URL; use http://host:8181")
        self.url = url
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 8181),
            ssl=parts.scheme == "https",
            timeout=timeout,
            retries=retries,
        )
        self._pushed: set[str] = set()
        if source is not None:
            self.reload(source)

    def reload(self, source: PolicySource) -> None:
        """Push `source` to the server, once it has proved itself in the embedded engine
        (so a module the server would reject never leaves it half-updated)."""
        RegoEngine(source)
        try:
            for name, text in source.modules.items():
                self._client.update_policy_from_string(text, name, rego_compat=False)
            self._client.update_or_create_data(source.data, "campus")
            for gone in self._pushed - set(source.modules):
                self._client.delete_policy(gone)
        except Exception as e:
            raise PolicyError(f"the OPA server at {self.url} did not take the policy: {describe_error(e)}") from None
        self._pushed = set(source.modules)

    def decide(self, input: dict) -> Decision:
        try:
            answer = self._client.query_rule(input, "campus/decision", "result")
        except Exception as e:
            return engine_failed(f"the OPA server at {self.url} did not answer ({describe_error(e)})")
        try:
            return parse_decision(answer.get("result") if isinstance(answer, dict) else None)
        except PolicyError as e:
            return engine_failed(e.reason)
