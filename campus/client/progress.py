"""Progress while a query runs: its elapsed time, once it has run for a second, in a
notebook's output or on a terminal (nowhere else)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SHOW_AFTER = 1.0  # seconds before a running query shows its progress


def waiting(call: Callable[[], T]) -> T:
    """`call()`, showing the elapsed time once it has run for a second (notebook or terminal)."""
    kind = _display_kind()
    if kind is None:
        return call()
    box: dict = {}
    done = threading.Event()

    def run():
        try:
            box["value"] = call()
        except BaseException as e:  # handed to the caller below
            box["error"] = e
        finally:
            done.set()

    started = time.monotonic()
    threading.Thread(target=run, daemon=True, name="campus-query").start()
    display = None
    try:
        while not done.wait(SHOW_AFTER if display is None else 0.5):
            display = display or kind()
            display.show(time.monotonic() - started)
    finally:  # also when interrupted: the service stops the query at its time limit
        if display is not None:
            display.close(time.monotonic() - started)
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Notebook:
    def __init__(self):
        from IPython.display import display

        self.handle = display({"text/plain": ""}, raw=True, display_id=True)

    def show(self, seconds: float) -> None:
        self.handle.update({"text/plain": f"{_spin(seconds)} query running on the campus: {seconds:.0f} s"}, raw=True)

    def close(self, seconds: float) -> None:
        self.handle.update({"text/plain": ""}, raw=True)


class _Terminal:
    def show(self, seconds: float) -> None:
        sys.stderr.write(f"\r{_spin(seconds)} query running on the campus: {seconds:.0f} s")
        sys.stderr.flush()

    def close(self, seconds: float) -> None:
        sys.stderr.write("\r" + " " * 48 + "\r")
        sys.stderr.flush()


def _display_kind():
    """Where progress can be shown: a notebook's output, a terminal, or nowhere (None)."""
    shell = running_shell()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return _Notebook
    if sys.stderr is not None and sys.stderr.isatty():
        return _Terminal
    return None


def _spin(seconds: float) -> str:
    return "|/-\\"[int(seconds * 2) % 4]


def running_shell():
    """The running IPython shell, or None (none when IPython was never imported)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
