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
SENTENCE = 12  # the least room a column of sentences is left before every column wraps alike


class Whole(Table):
    """A rich table that shows every value whole (see the module's docstring): a column
    keeps the width of its longest word while it holds single words, and wraps once it
    holds a sentence."""

    def add_row(self, *cells, **options) -> None:
        super().add_row(*cells, **options)
        for column, cell in zip(self.columns, cells):
            if column.width is None:  # a column of sentences: it wraps
                continue
            text = _plain(cell)
            length = Text(text).cell_len
            single = " " not in text.strip() and "\n" not in text and length <= WORD
            column.width = max(column.width, length) if single else None

    def __rich_console__(self, console, options):
        """Render; where the columns of words leave too little room for the sentences
        (a narrow terminal), every column wraps and folds alike."""
        kept = [(column, column.width) for column in self.columns if column.width is not None]
        sentences = len(self.columns) - len(kept)
        if sum(width for _, width in kept) + SENTENCE * sentences + 3 * len(self.columns) + 1 > options.max_width:
            for column, _ in kept:
                column.width = None
        try:
            yield from super().__rich_console__(console, options)
        finally:
            for column, width in kept:
                column.width = width


def whole(*headings: str, right: Iterable[str] = (), **options) -> Whole:
    """A table of these columns that never truncates a value; the columns named in
    `right` (numbers) are right-aligned. `options` go to `rich.table.Table`.

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
    for heading in headings:
        word = max((Text(w).cell_len for w in heading.split()), default=1)
        made.add_column(heading, overflow="fold", justify="right" if heading in right else "left", width=word)
    return made


def _plain(cell) -> str:
    if isinstance(cell, Text):
        return cell.plain
    try:
        return Text.from_markup(str(cell if cell is not None else "")).plain
    except MarkupError:
        return str(cell)
