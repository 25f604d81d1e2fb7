"""The packages' boundaries, as the design draws them: read from the sources' imports."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("campus", "extractguard")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports_at_load(name: str, path: Path, known: dict[str, Path], *, anywhere: bool = False) -> set[str]:
    """The project modules `name` imports when it loads (module level; not inside functions,
    not under TYPE_CHECKING), each import resolved to the module it names; with `anywhere`,
    every import in it, those inside functions and under TYPE_CHECKING too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree) if anywhere else tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            submodules = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known}
            found |= submodules or ({base} if base in known else set())
    return found - {name}


def graph(*, anywhere: bool = False) -> dict[str, set[str]]:
    known = modules()
    return {name: imports_at_load(name, path, known, anywhere=anywhere) for name, path in known.items()}


# The layers of the query path, top down: a module may import its own layer and those below, never one above.
LAYERS = ("campus.gateway", "campus.engines", "campus.vocabulary")


def layer_of(module: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if module == layer or module.startswith(layer + ".")), None)


def upward(edges: dict[str, set[str]]) -> dict[str, list[str]]:
    """The imports that point up the layers: by module, the modules of a higher layer it imports."""
    found = {}
    for name, targets in edges.items():
        level = layer_of(name)
        above = sorted(t for t in targets if None not in (level, layer_of(t)) and layer_of(t) < level)
        if above:
            found[name] = above
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, round a cycle (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_extractguard_imports_nothing_from_the_campus():
    """extractguard is a library of its own: none of its modules imports the campus, anywhere."""
    for path in (ROOT / "extractguard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            assert not any(n == "campus" or n.startswith("campus.") for n in names), f"{path} imports {names}"


def test_no_product_module_imports_the_demo_generator():
    """The demo generator (`campus.synth`) sits beside the product, not under it: only the command that
    builds the demo data reaches it (inside the function, so it loads only then)."""
    edges = graph()
    leaning = {name: sorted(t for t in targets if t == "campus.synth" or t.startswith("campus.synth."))
               for name, targets in edges.items() if not name.startswith("campus.synth")}
    assert {name: targets for name, targets in leaning.items() if targets} == {}


def test_no_modules_import_each_other_in_a_circle():
    """(A package's __init__ importing its own submodules is not a cycle: they load it first.)"""
    edges = graph()
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}
    assert cycles(edges) == []


def test_layers_point_down():
    """The gateway stands on the engines, and both on the SQL vocabulary (`campus.vocabulary`): no engine
    imports the gateway, and `campus.vocabulary` imports neither, anywhere in a module (inside functions
    and under TYPE_CHECKING too). The gateway is handed its engine; it never looks one up."""
    assert upward(graph(anywhere=True)) == {}


def test_the_layer_check_notices_an_arrow_pointing_up():
    edges = {"campus.engines.spark": {"campus.gateway.rewrite", "campus.vocabulary.casts", "campus.errors"},
             "campus.vocabulary.allowlist": {"campus.engines"}, "campus.gateway.rewrite": {"campus.engines.duckdb"},
             "campus.ingest.load": {"campus.gateway.session"}}
    assert upward(edges) == {"campus.engines.spark": ["campus.gateway.rewrite"], "campus.vocabulary.allowlist": ["campus.engines"]}


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def layout_table() -> dict[str, str]:
    """README's layout table: each row's folder or file, and what it says lives there."""
    text = (ROOT / "README.md").read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ", 1) for line in text.splitlines() if line.startswith("| `")]
    return {place.strip("| `"): what for place, what in rows}


def unnamed(table: dict[str, str]) -> list[str]:
    """What the layout table leaves out: modules and packages at the top of `campus/` it does
    not name, and the modules of a package whose row names some of its modules but not all
    (``__init__.py`` and conftest aside)."""
    text = " ".join(f"`{place}` {what}" for place, what in table.items())
    top = [p for p in sorted((ROOT / "campus").iterdir()) if p.name != "__init__.py"
           and (p.suffix == ".py" or (p / "__init__.py").exists())]
    missing = [f"campus/{p.name}{'/' if p.is_dir() else ''}" for p in top
               if f"`campus/{p.name}{'/' if p.is_dir() else ''}`" not in text]
    for package in ["extractguard", *(f"campus/{p.name}" for p in top if p.is_dir())]:
        row = table.get(f"{package}/", "")
        modules = sorted(p.name for p in (ROOT / package).glob("*.py") if p.name not in ("__init__.py", "conftest.py"))
        named = [m for m in modules if f"`{m}`" in row]
        missing += [f"{package}/{m}" for m in modules if named and m not in named]
    return missing


def test_readmes_layout_table_names_every_module_and_package_of_the_campus():
    """A module added at the top of `campus/`, or to a package whose row lists its modules,
    fails here until the table says what it is."""
    assert unnamed(layout_table()) == []


def test_the_layout_check_notices_a_module_left_out():
    table = layout_table()
    table["campus/service/"] = table["campus/service/"].replace("`limits.py`", "limits")
    del table["campus/catalog.py"]
    assert unnamed(table) == ["campus/catalog.py", "campus/service/limits.py"]
