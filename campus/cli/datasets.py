"""`campus datasets`: what the campus holds, real files loaded into it, and the synthetic data to try it on."""

from __future__ import annotations

import getpass
from contextlib import contextmanager
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from extractguard.formatting import when

from .. import catalog
from ..catalog import Catalog, Dataset
from ..settings import Settings
from .tables import whole

app = typer.Typer(
    help="The campus's datasets: list them, describe one, load a steward's files, build the synthetic demo data.",
    no_args_is_help=True,
)
out = Console()


@app.command("list")
def list_datasets() -> None:
    """Every dataset in the catalog, with its tier and the entity its rules protect."""
    table = whole("name", "title", "tier", "entity", "columns", "steward", right=("columns",))
    for dataset in _catalog():
        table.add_row(
            dataset.name, dataset.title, dataset.tier, dataset.entity or "-", str(len(dataset.columns)), dataset.steward
        )
    out.print(table)


@app.command()
def describe(name: str = typer.Argument(..., help="The dataset's name, as `campus datasets list` shows it.")) -> None:
    """What a dataset holds, and each column's type and role."""
    dataset = _dataset(_catalog(), name, "NAME")
    out.print(f"[bold]{dataset.name}[/bold]: {dataset.title}", highlight=False)
    out.print(dataset.description, highlight=False)
    out.print(
        f"tier {dataset.tier}, entity {dataset.entity or '-'}, steward {dataset.steward}, "
        f"source {dataset.source}" + (f", partitioned by {dataset.partitioned_by}" if dataset.partitioned_by else ""),
        highlight=False,
    )
    _describe_version(dataset)
    table = whole("column", "type", "role", "unit", "description")
    for column_name, column in dataset.columns.items():
        role = f"{column.role} ({column.grain})" if column.grain else column.role
        table.add_row(column_name, column.type, role, column.unit or "", column.description)
    out.print(table)


def _describe_version(dataset: Dataset) -> None:
    from ..ingest.versions import Versions

    where = dataset.location(Settings().data)
    if isinstance(where, str) or not Versions(where).exists():
        return
    store = Versions(where)
    current, history = store.current(), store.history()
    out.print(f"version {current.number} of {len(history)} (loaded by {current.loaded_by} at {when(current.at)}; "
              f"`campus datasets versions {dataset.name}`)", highlight=False)


@app.command()
def build(
    scale: float = typer.Option(1.0, "--scale", help="Scale factor: 1 is a million card transactions."),
    seed: int = typer.Option(42, "--seed", help="The same seed and scale always give the same files."),
    out_dir: Path | None = typer.Option(None, "--out", help="Where to write; the campus data location if left out."),
    only: str | None = typer.Option(None, "--only", help="Build just this dataset."),
) -> None:
    """Generate the synthetic datasets as Parquet, one file per month; skip what is already built."""
    from ..synth import build as build_data  # numpy and pyarrow load only when building

    cat = _catalog()
    if only is not None:
        _dataset(cat, only, "--only")
    out_dir = out_dir or Settings().data
    columns = TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("checking what is built", total=None)

        def show(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        built = build_data(cat, out_dir, scale=scale, seed=seed, only=only, progress=show)
    _report(built)


def _report(built) -> None:
    if not built.written:
        out.print(f"already built for seed {built.seed}, scale {built.scale:g} at {built.out_dir}", highlight=False)
    else:
        out.print(f"built for seed {built.seed}, scale {built.scale:g} at {built.out_dir}", highlight=False)
        table = whole("dataset", "rows", right=("rows",))
        for name, rows in built.written.items():
            table.add_row(name, f"{rows:,}")
        for name, rows in built.up_to_date.items():
            table.add_row(name, f"{rows:,} (already built)")
        out.print(table)
    if built.not_generated:
        out.print(f"not generated (no synthetic recipe): {', '.join(built.not_generated)}", highlight=False)


FILES = typer.Option(..., "--from", help="A CSV, CSV.gz or Parquet file; give --from once per file.")
ENCODING = typer.Option(None, "--encoding", help="The CSV's text encoding, if not UTF-8 or CP949 (told apart by "
                                                  "reading the file).")
LOADER = typer.Option(None, "--by", help="Who loads, for the audit trail; the OS user if left out.")
CHECK = typer.Option(False, "--check", help="Read the whole files and list every bad line (a wrong number of "
                                            "fields, bytes that are not text, a value not of its column's type) by "
                                            "number and reason, never its value; load nothing.")
SKIP = typer.Option(False, "--skip-bad-lines", help="Load without the bad lines: they are listed, by number and "
                                                    "reason, in a report kept beside the dataset's versions.")


@app.command()
def add(
    name: str = typer.Argument(..., help="The dataset's name: lower_snake_case."),
    files: list[Path] = FILES,
    accept: bool = typer.Option(False, "--accept", help="Take the proposed catalog entry as it is, and load."),
    steward: str | None = typer.Option(None, "--steward", help="The steward named in a proposed entry: the person "
                                       "who answers for the dataset (else CAMPUS_STEWARD, else asked)."),
    encoding: str | None = ENCODING,
    by: str | None = LOADER,
    check: bool = CHECK,
    skip_bad_lines: bool = SKIP,
) -> None:
    """Load a dataset's first files. A dataset not in the catalog yet is profiled and its entry
    proposed as a diff of the catalog: edit it in, or take it with --accept; then it loads."""
    from ..ingest import profile as profiling

    settings, cat = Settings(), _catalog()
    if name in cat.datasets:
        if check:
            return _check(cat[name], _opened(files, encoding, lenient=True))
        return _load(cat[name], lambda: _opened(files, encoding, skip_bad_lines), "add", by, skip_bad_lines)
    if not catalog.NAME.match(name):
        raise typer.BadParameter(f"{name!r} is not lower_snake_case", param_hint="NAME")
    named = "-" if check else _steward(steward)  # asked before the file is read through
    sources = _opened(files, encoding, check or skip_bad_lines)
    with _rows_read() as show:
        found = profiling.profile(sources, progress=show, lenient=check or skip_bad_lines)
    _show_profile(found)
    entry = profiling.proposed_entry(name, found, sources, named)
    proposed, with_entry = profiling.catalog_with(settings.catalog_path, entry)
    if check:
        return _check(with_entry[name], sources, found.typed_but_for())
    typer.echo(profiling.diff(settings.catalog_path, proposed, settings.root))  # as it is: for git apply
    if not accept:
        out.print(f"Nothing is loaded yet. Edit this entry into {settings.catalog_path} (save the diff, edit it, "
                  f"`git apply` it) and run this again, or run it with --accept to take it as proposed.",
                  highlight=False)
        return

    def checked() -> list:  # inside _load, so that a refusal is in the audit trail
        if not skip_bad_lines:
            _refuse_typed_but_for(found.typed_but_for())
        return sources

    _load(with_entry[name], checked, "add", by, skip_bad_lines)
    _replace_text(settings.catalog_path, proposed)  # only now: a catalog entry without data stops the service


@app.command()
def append(
    name: str = typer.Argument(..., help="The dataset's name, as `campus datasets list` shows it."),
    files: list[Path] = FILES,
    encoding: str | None = ENCODING,
    by: str | None = LOADER,
    check: bool = CHECK,
    skip_bad_lines: bool = SKIP,
) -> None:
    """Load a new period's files into a dataset as its next version; the current version stays in force
    until every row is checked and written."""
    dataset = _dataset(_catalog(), name, "NAME")
    if check:
        return _check(dataset, _opened(files, encoding, lenient=True))
    _load(dataset, lambda: _opened(files, encoding, skip_bad_lines), "append", by, skip_bad_lines)


def _opened(files: list[Path], encoding: str | None, lenient: bool) -> list:
    """The files, each checked to be of a kind and an encoding the campus reads (`lenient`: with bad lines)."""
    from ..ingest.source import open_source

    return [open_source(f, encoding, lenient=lenient) for f in files]


@app.command()
def remove(
    name: str = typer.Argument(..., help="The dataset's name, as `campus datasets list` shows it."),
    yes: bool = typer.Option(False, "--yes", help="Remove without asking."),
    by: str | None = LOADER,
) -> None:
    """Remove a dataset: its catalog entry and the data loads wrote (every version); refused while a grant,
    terms or a budget in policies/ names it."""
    from ..ingest.versions import Versions
    from ..policy.files import PolicyPaths, naming

    settings = Settings()
    dataset = _dataset(_catalog(), name, "NAME")
    named = naming(PolicyPaths.of(settings), name)
    if named:
        _audit().record(by or getpass.getuser(), "dataset_remove", "refused", dataset=name, named_by=named)
        out.print(f"{name} is not removed: the policy still names it in\n  " + "\n  ".join(named) + "\nRemove "
                  "those entries (or point them at another dataset), run `campus policy check`, then run this "
                  "again.", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    where = dataset.location(settings.data)
    store = Versions(where) if not isinstance(where, str) and Versions(where).exists() else None
    versions = [v.number for v in store.history()] if store else []
    what = (f"delete its {len(versions)} loaded version(s) at {where}" if store else
            f"leave its files at {where} (not written by `campus datasets add`)")
    if not yes and not typer.confirm(f"Remove {name} from {settings.catalog_path} and {what}?"):
        raise typer.Abort()
    text = catalog.without(settings.catalog_path.read_text(encoding="utf-8"), name)
    _still_valid(text, set(_catalog().datasets) - {name})
    _replace_text(settings.catalog_path, text)  # first: the service stops serving it before its files go
    deleted = store.remove() if store else []
    _audit().record(by or getpass.getuser(), "dataset_remove", "done", dataset=name, versions=versions,
                    files_deleted=len(deleted))
    out.print(f"{name} is removed from the catalog; " + (f"its {len(deleted)} loaded files are deleted from {where}"
              if store else f"{where} was not written by `campus datasets add` and is left as it was"),
              highlight=False, soft_wrap=True)


def _still_valid(text: str, names: set[str]) -> None:
    """Refuse a catalog text that does not validate, or names other datasets than `names`."""
    import tempfile

    from ..errors import ConfigError

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_text(text, encoding="utf-8")
        left = set(catalog.load(path).datasets)
    if left != names:
        raise ConfigError(f"the catalog without this entry would hold {', '.join(sorted(left))}; remove the entry "
                          "by hand, then run this again to delete its data")


@app.command()
def versions(name: str = typer.Argument(..., help="The dataset's name.")) -> None:
    """Every version of a loaded dataset: when, by whom, from which files; the current one marked."""
    from ..ingest.versions import Versions

    dataset = _dataset(_catalog(), name, "NAME")
    store = Versions(dataset.location(Settings().data))
    if not store.exists():
        out.print(f"{name} has no versions: it was not loaded with `campus datasets add`", highlight=False)
        return
    current = store.current()
    table = whole("version", "action", "rows added", "loaded by", "at", "files", "", right=("version", "rows added"))
    for v in store.history():
        sources = ", ".join(f"{s['name']} (sha256 {s['sha256'][:12]}…"
                            + (f"; dropped {', '.join(s['dropped'])}" if s.get("dropped") else "") + ")"
                            for s in v.sources)
        table.add_row(str(v.number), v.action, f"{v.rows:,}", v.loaded_by, when(v.at), sources,
                      "current" if current and v.number == current.number else "")
    out.print(table)


@app.command()
def rollback(
    name: str = typer.Argument(..., help="The dataset's name."),
    version: int = typer.Argument(..., help="The version to return to, as `campus datasets versions` lists it."),
    by: str | None = LOADER,
) -> None:
    """Make an earlier version current again (later versions are kept, and can be returned to)."""
    from ..ingest.versions import Versions

    dataset = _dataset(_catalog(), name, "NAME")
    store = Versions(dataset.location(Settings().data))
    with store.lock():
        before = store.current()
        chosen = store.rollback(version)
    _audit().record(by or getpass.getuser(), "dataset_rollback", "done", dataset=name, version=chosen.number,
                    previous=before.number if before else None)
    out.print(f"{name} is at version {chosen.number} again ({chosen.rows:,} rows added by it, loaded {when(chosen.at)}); "
              "the data service serves it from its next query", highlight=False)


def _load(dataset: Dataset, opened, action: str, by: str | None, skip_bad_lines: bool = False) -> None:
    """Load the files `opened()` gives, showing progress; the outcome goes to the audit trail either way."""
    from ..campus import pseudonym_secret
    from ..errors import CampusError
    from ..vocabulary.pseudonyms import intake_key
    from ..ingest.load import load

    settings, loader = Settings(), by or getpass.getuser()
    sources = []
    try:
        sources = opened()
        with _rows_read() as show:
            version = load(dataset, sources, settings.data, intake_key(pseudonym_secret(settings.state_dir)),
                           action=action, loaded_by=loader, progress=show, skip_bad_lines=skip_bad_lines)
    except CampusError as e:
        files = [{"name": s.name, "sha256": s.sha256} for s in sources]
        _audit().record(loader, f"dataset_{action}", "refused", dataset=dataset.name, files=files, reason=e.reason)
        raise
    _audit().record(loader, f"dataset_{action}", "done", dataset=dataset.name, version=version.number,
                    rows=version.rows, files=version.sources)
    out.print(f"{dataset.name} version {version.number}: {version.rows:,} rows from "
              f"{', '.join(s.name for s in sources)}; the data service serves it from its next query"
              + ("" if action == "append" else ", to those a grant in policies/grants.yaml names"), highlight=False)
    if skip_bad_lines:
        from ..ingest.versions import bad_lines_name

        skipped = sum(s.get("skipped", 0) for s in version.sources)
        out.print(f"{skipped:,} bad line{'' if skipped == 1 else 's'} left out, not loaded; the report (line numbers "
                  f"and reasons, no values) is {dataset.location(settings.data) / bad_lines_name(version.number)}",
                  highlight=False, soft_wrap=True)


def _check(dataset: Dataset, sources: list, typed_but_for: list | None = None) -> None:
    """Print every file's bad lines against `dataset`'s entry; exit 1 if there are any."""
    from ..ingest.load import check

    with _rows_read() as show:
        reports = check(dataset, sources, progress=show)
    for report in reports:
        out.print(report.summary(), highlight=False, soft_wrap=True)
    for column in typed_but_for or []:
        out.print(f"Column {column.name} is {column.but_for[0]} but for those lines: with them it would be text.",
                  highlight=False)
    if not any(r.bad or r.refused for r in reports):
        out.print(f"No bad lines: {sum(r.rows for r in reports):,} rows would load. Nothing is loaded yet.",
                  highlight=False)
        return
    out.print("Nothing is loaded. Fix those lines and check again, or load with --skip-bad-lines to leave them "
              "out (a report lists them).", highlight=False)
    raise typer.Exit(1)


def _refuse_typed_but_for(columns: list) -> None:
    """Refuse to make text of a column of numbers or days that a few lines break."""
    from ..errors import LoadRefused

    if columns:
        said = "; ".join(f"{c.name} is {c.but_for[0]} but for {c.but_for[1]:,} value{'s' if c.but_for[1] > 1 else ''}"
                         for c in columns)
        raise LoadRefused(f"{said}: those lines would not load. Fix them (`--check` lists them) and run this again, "
                          "or add --skip-bad-lines to load without them (a report lists them); nothing was loaded")


def _steward(given: str | None) -> str:
    """The steward to name: --steward, else CAMPUS_STEWARD, else asked at a terminal; never a system account."""
    import sys

    name = given or Settings().steward
    if not name and sys.stdin.isatty():
        name = typer.prompt("Who is the dataset's steward (the person who answers for it)?")
    if not name or not name.strip():
        raise typer.BadParameter("name the dataset's steward, the person who answers for it: --steward NAME, or "
                                 "set CAMPUS_STEWARD", param_hint="--steward")
    if _system_account(name.strip()):
        raise typer.BadParameter(f"{name!r} is a system account, not a steward; name the person who answers for "
                                 "the dataset", param_hint="--steward")
    return name.strip()


def _system_account(name: str) -> bool:
    """Whether `name` is root or an account of the system (uid under 1000, or nobody's)."""
    import pwd

    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return name in ("root", "nobody")
    return uid < 1000 or uid == 65534


@contextmanager
def _rows_read():
    """A `progress(rows, file)` showing the rows read so far and the time taken."""
    columns = TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"), TimeElapsedColumn()
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("reading", total=None)
        yield lambda rows, what: bar.update(task, completed=rows, description=what)


def _show_profile(found) -> None:
    table = whole("column", "in the file", "type", "missing", "distinct", "unique", "identifying values",
                      right=("missing", "distinct", "unique"))
    for c in found.columns:
        but_for = f" but for {c.but_for[1]:,} line{'s' if c.but_for[1] > 1 else ''}" if c.but_for else ""
        table.add_row(c.name, c.header, c.type + but_for, f"{c.missing:,}", f"{c.distinct:,}", f"{c.uniqueness:.0%}",
                      "; ".join(filter(None, (found.findings.said(c.name), c.quasi))) or "-")
    out.print(f"{found.rows:,} rows", highlight=False)
    out.print(table)


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _audit():
    from ..audit import AuditLog

    return AuditLog.of(Settings())


def _catalog() -> Catalog:
    return catalog.load(Settings().catalog_path)


def _dataset(cat: Catalog, name: str, param: str) -> Dataset:
    """The named dataset; a usage error listing the known names if there is none."""
    if name not in cat.datasets:
        known = ", ".join(sorted(cat.datasets))
        raise typer.BadParameter(f"no dataset {name!r}; the catalog has: {known}", param_hint=param)
    return cat[name]
