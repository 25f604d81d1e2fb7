"""Tables for the terminal that never cut a value short.

Rich cuts a cell that does not fit its column with an ellipsis by default, and a
narrow terminal (or a pipe, which rich reads as 80 columns) then hides a dataset's
tier, a steward's name or a token's id. Every table of the command line is made here
instead (`whole`): a column of single words (names, ids, numbers) keeps its width while
the columns of sentences wrap at their spaces, and where even that does not fit, a cell
folds onto the next line: a narrow terminal gets a taller table with every value whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

WORD = 30  # a single word longer than this (a hash, a long path) may fold rather than widen its column


class Whole(Table):
    """A rich table that shows every value whole (see the module's docstring): a column
    keeps the width of its longest value while it holds single words, and wraps once it
    holds a sentence."""

    keep: set[str]  # headings of the columns that fold last (ids, to copy whole)
    words: list[int]  # per column, its longest word: the least a column of sentences needs

    def add_row(self, *cells, **options) -> None:
        super().add_row(*cells, **options)
        for i, (column, cell) in enumerate(zip(self.columns, cells)):
            text = _plain(cell)
            self.words[i] = max([self.words[i]] + [Text(w).cell_len for w in text.split()])
            if column.width is None:  # a column of sentences: it wraps
                continue
            length = Text(text).cell_len
            single = " " not in text.strip() and "\n" not in text and length <= WORD
            column.width = max(column.width, length) if single else None

    def __rich_console__(self, console, options):
        """Render; where even the longest words do not fit side by side (a narrow terminal),
        the columns of words wrap and fold like sentences (those named in `keep` last)."""
        released = []
        if self.least() > options.max_width:
            released = [(c, c.width) for c in self.columns if c.width is not None and c.header not in self.keep]
        for column, _ in released:
            column.width = None
        try:
            yield from super().__rich_console__(console, options)
        finally:
            for column, width in released:
                column.width = width

    def least(self) -> int:
        """The least width the table needs to show every word whole: each column as wide as
        its longest word (a word past `WORD` may fold), padding and borders included."""
        return sum(min(word, WORD) + 3 for word in self.words) + 1


def whole(*headings: str, right: Iterable[str] = (), keep: Iterable[str] = (), **options) -> Whole:
    """A table of these columns that never truncates a value; the columns named in
    `right` (numbers) are right-aligned, those in `keep` (ids, to copy) are the last to
    fold. `options` go to `rich.table.Table`.

    >>> from rich.console import Console
    >>> t = whole("name", "title", "rows", right=("rows",))
    >>> t.add_row("sales_by_location", "Sales by location, one row per store and month", "1,204")
    >>> Console(width=50).print(t)
    ┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┓
    ┃ name              ┃ title              ┃  rows ┃
    ┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━┩
    │ sales_by_location │ Sales by location, │ 1,204 │
    │                   │ one row per store  │       │
    │                   │ and month          │       │
    └───────────────────┴────────────────────┴───────┘
    >>> Console(width=30).print(t)  # too narrow for the name: every column folds, nothing is cut
    ┏━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━┓
    ┃ name    ┃ title    ┃  rows ┃
    ┡━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━┩
    │ sales_b │ Sales by │ 1,204 │
    │ y_locat │ location │       │
    │ ion     │ , one    │       │
    │         │ row per  │       │
    │         │ store    │       │
    │         │ and      │       │
    │         │ month    │       │
    └─────────┴──────────┴───────┘
    """
    right = set(right)
    made = Whole(**options)
    made.keep, made.words = set(keep), []
    for heading in headings:
        word = max((Text(w).cell_len for w in heading.split()), default=1)
        made.add_column(heading, overflow="fold", justify="right" if heading in right else "left", width=word)
        made.words.append(word)
    return made


def _plain(cell) -> str:
    if isinstance(cell, Text):
        return cell.plain
    try:
        return Text.from_markup(str(cell if cell is not None else "")).plain
    except MarkupError:
        return str(cell)
