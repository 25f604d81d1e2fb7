"""Load a steward- or admin-written YAML file into a pydantic model.

A mistake is reported as ``file:line: field: problem`` so the author can go straight
to it:

>>> from pydantic import BaseModel
>>> class Doc(BaseModel):
...     size: int
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "doc.yaml"
>>> _ = p.write_text("# a comment\\nsize: large\\n")
>>> try:
...     load(p, Doc)
... except ConfigError as e:
...     print(e.reason.replace(str(p), "doc.yaml"))
doc.yaml:2: size: Input should be a valid integer, unable to parse string as an integer
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def read(path: Path) -> Any:
    """The YAML document at `path`, with line numbers kept for error messages."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; create it or point CAMPUS_ROOT at the campus configuration") from None
    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError as e:
        key = re.match(r'found duplicate key "(.*?)"', e.problem).group(1)
        line = _line_of_key(text, key, after=e.problem_mark.line - 1)
        raise ConfigError(f"{path}:{line}: not valid YAML: {key!r} appears twice") from None
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise ConfigError(f"{path}:{line}: not valid YAML: {e.problem}") from None


def _line_of_key(text: str, key: str, after: int) -> int:
    """The 1-based line where `key:` next appears at or after line index `after`."""
    lines = text.splitlines()
    for index in range(max(after, 0), len(lines)):
        if lines[index].lstrip().startswith(f"{key}:"):
            return index + 1
    return after + 1


def load(path: Path, model: type[M], *, context: dict | None = None) -> M:
    """Validate the YAML at `path` as `model`; errors name file, line and field."""
    doc = read(path)
    try:
        return model.model_validate(doc if doc is not None else {}, context=context)
    except ValidationError as e:
        raise ConfigError(describe(path, doc, e)) from None


def describe(path: Path, doc: Any, error: ValidationError) -> str:
    """One line per problem: ``file:line: dotted.field: message``."""
    lines = []
    for problem in error.errors():
        loc = [part for part in problem["loc"] if not _is_model_tag(part)]
        field = ".".join(str(part) for part in loc) or "(document)"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{path}:{line_of(doc, loc)}: {field}: {message}")
    return "\n".join(lines)


def line_of(doc: Any, loc: list) -> int:
    """The 1-based line of the deepest part of `loc` that exists in `doc`."""
    line, node = 1, doc
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None and isinstance(part, str) and part in node:
                line = lc.key(part)[0] + 1
            elif lc is not None and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _is_model_tag(part: Any) -> bool:
    # pydantic puts union member names (e.g. "function-after[...]") in locations.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))
