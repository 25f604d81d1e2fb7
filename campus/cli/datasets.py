"""`campus datasets`: what the campus holds, and the synthetic data to try it on."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import catalog
from ..catalog import Catalog, Dataset
from ..settings import Settings

app = typer.Typer(
    help="The campus's datasets: list them, describe one, build the synthetic demo data.",
    no_args_is_help=True,
)
out = Console()


@app.command("list")
def list_datasets() -> None:
    """Every dataset in the catalog, with its tier and the entity its rules protect."""
    table = Table()
    table.add_column("name", no_wrap=True)
    for heading in ("title", "tier", "entity", "columns", "steward"):
        table.add_column(heading)
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
    table = Table("column", "type", "role", "unit", "description")
    for column_name, column in dataset.columns.items():
        role = f"{column.role} ({column.grain})" if column.grain else column.role
        table.add_row(column_name, column.type, role, column.unit or "", column.description)
    out.print(table)


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
        table = Table("dataset", "rows")
        for name, rows in built.written.items():
            table.add_row(name, f"{rows:,}")
        for name, rows in built.up_to_date.items():
            table.add_row(name, f"{rows:,} (already built)")
        out.print(table)
    if built.not_generated:
        out.print(f"not generated (no synthetic recipe): {', '.join(built.not_generated)}", highlight=False)


def _catalog() -> Catalog:
    return catalog.load(Settings().catalog_path)


def _dataset(cat: Catalog, name: str, param: str) -> Dataset:
    """The named dataset; a usage error listing the known names if there is none."""
    if name not in cat.datasets:
        known = ", ".join(sorted(cat.datasets))
        raise typer.BadParameter(f"no dataset {name!r}; the catalog has: {known}", param_hint=param)
    return cat[name]
