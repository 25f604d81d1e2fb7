"""`campus policy`: the stewards' commands for the access policy.

    campus policy check      validate the grants, users and catalog; compile the Rego
    campus policy test       run the *_test.rego suites and policies/expected_decisions.yaml
    campus policy explain    what the policy decides for one request, and why
    campus policy schema     print (or --write) policies/grants.schema.json
"""

from __future__ import annotations

from dataclasses import asdict

import datetime
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..errors import CampusError
from ..policy import PolicyPaths, RegoEngine, expected, files, grants, load_policy, regotest
from ..policy.decision import PolicyRequest
from ..policy.decision import Decision
from ..settings import Settings
from .tables import whole

app = typer.Typer(help="Access policies: check, test and explain the stewards' grants.", no_args_is_help=True)
out = Console(highlight=False)


@app.command()
def check() -> None:
    """Validate the grants, users and catalog, and compile the Rego. Exit 1 on error."""
    paths = PolicyPaths.of(Settings())
    try:
        source = files.load(paths)
        RegoEngine(source)
    except CampusError as e:
        out.print("[red]The policy has errors:[/red]")
        for line in e.reason.splitlines():
            out.print(f"  {line}", markup=False)
        raise typer.Exit(1) from None
    datasets = sorted({g.dataset for g in source.grants})
    out.print(
        f"[green]OK[/green]: {len(source.grants)} grants on {len(datasets)} datasets, "
        + (f"{len(source.terms)} terms, " if source.terms else "")
        + (f"{len(source.budgets)} budgets, " if source.budgets else "")
        + f"{len(source.modules)} Rego modules, {len(source.users.users)} users, {len(source.users.projects)} projects"
    )
    schema = paths.policies / "grants.schema.json"
    if not schema.exists() or schema.read_text(encoding="utf-8") != grants.json_schema():
        out.print(f"[yellow]note[/yellow]: {schema} is out of date; run `campus policy schema --write`")


@app.command()
def test() -> None:
    """Run the Rego unit tests and the table of expected decisions. Exit 1 on a failure."""
    paths = PolicyPaths.of(Settings())
    outcomes = regotest.run(paths)
    failed = 0
    table = _results_table("Rego test")
    for outcome in outcomes:
        failed += not outcome.passed
        mark = "[green]pass[/green]" if outcome.passed else "[red]FAIL[/red]"
        table.add_row(mark, outcome.test.name, outcome.detail)
    out.print(table)
    failed_cases, cases = _expected_decisions(paths)
    failed, total = failed + failed_cases, len(outcomes) + cases
    if failed:
        out.print(f"[red]{failed} of {total} failed[/red]")
        raise typer.Exit(1)
    out.print(f"[green]all {total} passed[/green]")


def _one_of(value: str, *choices: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(choices)}")
    return value


def _shape(value: str) -> str:
    return _one_of(value, "aggregates", "rows")


def _action(value: str) -> str:
    return _one_of(value, "query", "export")


@app.command()
def explain(
    user: Annotated[str, typer.Option(help="Who asks.")],
    dataset: Annotated[str, typer.Option(help="The dataset asked about.")],
    columns: Annotated[str, typer.Option(help="Columns the query reads, comma-separated.")] = "",
    groups: Annotated[str | None, typer.Option(help="Groups, comma-separated (default: from hub/users.yaml).")] = None,
    project: Annotated[str | None, typer.Option(help="The project the request is made in.")] = None,
    shape: Annotated[str, typer.Option(help="aggregates or rows.", callback=_shape)] = "aggregates",
    action: Annotated[str, typer.Option(help="query or export.", callback=_action)] = "query",
    now: Annotated[str | None, typer.Option(help="Decide as of this moment, e.g. 2027-07-01T00:00:00Z.")] = None,
    sealed: Annotated[bool | None, typer.Option(
        "--sealed/--not-sealed", help="Asked from a sealed session (default: CAMPUS_SESSIONS_SEALED).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """What the policy decides for one request, and why."""
    settings = Settings()
    policy = load_policy(settings)
    if policy.last_error:
        out.print("[red]The policy did not load:[/red]")
        out.print(f"  {policy.last_error}", markup=False)
        raise typer.Exit(1)
    member_of = _split(groups) if groups is not None else policy.groups_of(user)
    moment = _moment(now)
    sealed = settings.sessions_sealed if sealed is None else sealed
    decision = policy.ask(PolicyRequest(user=user, groups=member_of, project=project, dataset=dataset,
                                        columns=_split(columns), shape=shape, action=action, now=moment,
                                        sealed=sealed))
    if as_json:
        out.print_json(decision.model_dump_json())
        return
    _show(decision, user, member_of)
    if decision.allow:
        _budgets(policy, user, member_of, project if policy.member_of(user, project) else None, dataset)


def _budgets(policy, user: str, groups: list[str], project: str | None, dataset: str) -> None:
    """The disclosure budgets this request's released cells are charged to."""
    from ..gateway.ledger import allowances

    for scope in allowances(policy.budgets(dataset), user, groups, project):
        cap = f"{scope.cells:,} cells a {scope.per} (budget {scope.budget})" if scope.cells else "recorded, no budget"
        out.print(f"  budget {scope.scope}: {cap}", markup=False)


@app.command()
def schema(write: Annotated[bool, typer.Option(help="Write policies/grants.schema.json.")] = False) -> None:
    """The JSON Schema of the policy files (for editors)."""
    text = grants.json_schema()
    if write:
        target = PolicyPaths.of(Settings()).policies / "grants.schema.json"
        target.write_text(text, encoding="utf-8")
        out.print(f"wrote {target}")
    else:
        typer.echo(text, nl=False)


def _show(decision: Decision, user: str, groups: list[str]) -> None:
    verdict = "[green]ALLOW[/green]" if decision.allow else "[red]DENY[/red]"
    who = f"{user} (groups: {', '.join(groups) or 'none'})"
    out.print(f"{verdict} for {who}" + (f" by grant [bold]{decision.grant}[/bold]" if decision.grant else ""))
    for reason in decision.reasons:
        out.print(f"  - {reason}", markup=False)
    if not decision.allow:
        return
    terms = whole("term", "value", box=None)
    terms.add_row("mode", decision.mode)
    terms.add_row("columns", ", ".join(decision.columns))
    terms.add_row("masks", json.dumps(decision.masks) if decision.masks else "none")
    terms.add_row("row filter", json.dumps(decision.row_filter) if decision.row_filter else "none")
    terms.add_row("disclosure", json.dumps(asdict(decision.disclosure)))
    terms.add_row("row cap", str(decision.row_cap))
    for binding in decision.stricter():
        where = "; ".join(f"{c} in {', '.join(map(str, v))}" for c, v in binding.rows.items()) or "every row"
        terms.add_row("also binding", f"{binding.source}: on cells holding rows where {where}: "
                      + ", ".join(binding.tightens(decision.disclosure, decision.masks)))
    terms.add_row("export", decision.export)
    out.print(terms)


def _expected_decisions(paths: PolicyPaths) -> tuple[int, int]:
    """Run the table of expected decisions: how many failed, of how many."""
    path = paths.expected_decisions()
    if not path.exists():
        out.print(f"[yellow]note[/yellow]: no {path}; no expected decisions to check")
        return 0, 0
    try:
        table_of_cases = expected.load(path)
    except CampusError as e:
        out.print(f"[red]{path} is invalid:[/red]")
        out.print(f"  {e.reason}", markup=False)
        return 1, 1
    total = len(table_of_cases.cases)
    policy = load_policy(Settings())
    if policy.last_error:
        out.print("[red]The policy did not load:[/red]")
        out.print(f"  {policy.last_error}", markup=False)
        return total, total
    failed = 0
    table = _results_table("expected decision")
    for checked in expected.check_all(policy, table_of_cases):
        failed += not checked.passed
        mark = "[green]pass[/green]" if checked.passed else "[red]FAIL[/red]"
        why = "; ".join(checked.problems) + (f" (reasons: {checked.decision.reason})" if checked.problems else "")
        table.add_row(mark, checked.case.name, why)
    out.print(table)
    return failed, total


def _results_table(what: str) -> Table:
    return whole("", what, "why it failed", box=None)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _moment(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 moment, e.g. 2027-07-01T00:00:00Z", param_hint="--now")
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
