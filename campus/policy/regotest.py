"""Run the ``*_test.rego`` suites with regopy (rego-cpp), as ``opa test`` would.

A test is a top-level rule whose name starts with ``test_``; it passes when it is
true. All policy and test modules are compiled together, once, into one bundle with
every test as an entrypoint.

rego-cpp 1.5.2 crashes the process on ``with input as {...}`` when the rule under test
calls a built-in, and gets ``with x as pkg.rule`` wrong; a module written that way is
refused with a message saying how to write it instead, rather than run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import regopy

from .engines import compiler_report, describe_error, interpreter, output_value
from .files import PolicyPaths

EMPTY_DATA = {"grants": [], "catalog": {}, "projects": {}, "roles": {}}
COMMENT = re.compile(r"#[^\n\"]*$", re.MULTILINE)
TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
UNSAFE = {
    re.compile(r"\bwith\s+input\s+as\b"): "`with input as {...}` crashes rego-cpp; set one field at a time "
    "(`with input.user as \"alice\" with input.dataset as ...`)",
    re.compile(r"\bwith\s+\S+\s+as\s+[A-Za-z_]\w*\.[\w.]*"): "`with ... as pkg.rule` is mishandled by rego-cpp; "
    "bind the value to a variable first (`grants := fx.grants` then `with data.campus.grants as grants`)",
}


@dataclass(frozen=True)
class RegoTest:
    file: Path
    package: str
    rule: str
    line: int

    @property
    def name(self) -> str:
        return f"{self.package}.{self.rule}"

    @property
    def entrypoint(self) -> str:
        return f"{self.package.replace('.', '/')}/{self.rule}"


@dataclass(frozen=True)
class Outcome:
    test: RegoTest
    passed: bool
    detail: str = ""


def discover(paths: PolicyPaths) -> list[RegoTest]:
    """Every test rule of every ``*_test.rego``, in file order."""
    found = []
    for path in paths.rego_test_files():
        text = path.read_text(encoding="utf-8")
        package = PACKAGE.search(text)
        seen = set()
        for match in TEST_RULE.finditer(text):
            if package and match.group(1) not in seen:
                seen.add(match.group(1))
                line = text.count("\n", 0, match.start()) + 1
                found.append(RegoTest(path, package.group(1), match.group(1), line))
    return found


def run(paths: PolicyPaths, tests: list[RegoTest] | None = None) -> list[Outcome]:
    """Run `tests` (default: all); each outcome says why a test failed."""
    tests = discover(paths) if tests is None else tests
    refused = _unsafe_modules(paths)
    outcomes = {t: Outcome(t, False, refused[t.file]) for t in tests if t.file in refused}
    runnable = [t for t in tests if t.file not in refused]
    if runnable:
        try:
            bundle = _compile(paths, runnable, skip=set(refused))
            failed = None if bundle.ok() else f"does not compile: {compiler_report(_modules(paths, set(refused)))}"
        except regopy.RegoError:
            failed = f"does not compile: {compiler_report(_modules(paths, set(refused)))}"
        rego = interpreter()
        for test in runnable:
            outcomes[test] = (
                Outcome(test, False, failed) if failed else _evaluate(rego, bundle, test, list(refused.values()))
            )
    return [outcomes[t] for t in tests]


def _compile(paths: PolicyPaths, tests: list[RegoTest], skip: set[Path]) -> regopy.Bundle:
    rego = interpreter()
    for name, text in _modules(paths, skip).items():
        rego.add_module(name, text)
    # Tests bring their own data with `with`; rego-cpp applies `with` only where the
    # base document exists, so start from an empty skeleton.
    rego.add_data({"campus": EMPTY_DATA})
    return rego.build(None, [t.entrypoint for t in tests])


def _modules(paths: PolicyPaths, skip: set[Path]) -> dict[str, str]:
    files = [p for p in [*paths.rego_files(), *paths.rego_test_files()] if p not in skip]
    return {paths.module_name(p): p.read_text(encoding="utf-8") for p in files}


def _evaluate(rego: regopy.Interpreter, bundle: regopy.Bundle, test: RegoTest, skipped: list[str]) -> Outcome:
    try:
        value = output_value(rego.query_bundle_entrypoint(bundle, test.entrypoint))
    except Exception as e:
        detail = describe_error(e)
    else:
        if value is True:
            return Outcome(test, True)
        detail = "undefined (a line of the test is false)" if value is None else f"gave {value!r}"
    if skipped:
        detail += f" (some test modules were not loaded: {'; '.join(skipped)})"
    return Outcome(test, False, detail)


def _unsafe_modules(paths: PolicyPaths) -> dict[Path, str]:
    """Test modules written in a way rego-cpp cannot run, and why."""
    refused = {}
    for path in paths.rego_test_files():
        text = COMMENT.sub("", path.read_text(encoding="utf-8"))
        for pattern, why in UNSAFE.items():
            match = pattern.search(text)
            if match:
                line = text.count("\n", 0, match.start()) + 1
                refused[path] = f"{paths.module_name(path)}:{line}: {why}"
                break
    return refused
