"""What a sealed session's notebook kernel says about its limits (an IPython extension).

The kernel spec in ``hub/singleuser/kernels/`` loads it in every kernel of a sealed
session; the spawner passes the session's limits in ``CAMPUS_SESSION_LIMITS``. It turns
the three ways a session meets a limit into a sentence in the notebook:

* a process that asks for more memory than the session has gets ``MemoryError``: the
  cell says how much the session has;
* a process the OOM killer stopped (the session as a whole ran out; a kernel, say): the
  first cell of the kernel started next says so, once;
* too many processes (``BlockingIOError`` from fork) or a full home (``No space left on
  device``): the cell says which limit was met.

Each sentence also says what to do next. Outside a sealed session it does nothing.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

from .limits import oom_kills

VARIABLE = "CAMPUS_SESSION_LIMITS"
SEEN = Path.home() / ".local" / "state" / "campus" / "oom-kills-seen"


def size(n: float) -> str:
    """
    >>> size(4 * 2**30), size(512 * 2**20)
    ('4.0 GiB', '512 MiB')
    """
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def explain(error: BaseException, limits: dict) -> str | None:
    """The sentence for `error`, if a session limit explains it."""
    if isinstance(error, MemoryError):
        return (f"This session may use {size(limits['memory'])} of memory in all, and this cell asked for more. "
                "Read fewer rows or columns at once (aggregate in the query), or ask a campus admin for a larger "
                "limit.")
    if isinstance(error, BlockingIOError) or "can't start new thread" in str(error):
        return (f"This session may run {limits['processes']} processes and threads at once, and that many are "
                "running. Stop the ones you no longer need.")
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"Your home is full: it holds {size(limits['home'])}. Delete files you no longer need, or ask a "
                "campus admin for a larger home.")
    return None


def stopped_since_last_kernel(limits: dict) -> bool:
    """Whether the OOM killer stopped a process of this session since the last kernel looked."""
    now = oom_kills(Path(limits["memory_group"]))
    try:
        seen = int(SEEN.read_text())
    except (OSError, ValueError):
        seen = 0
    try:
        SEEN.parent.mkdir(parents=True, exist_ok=True)
        SEEN.write_text(str(now))
    except OSError:
        pass
    return now > seen


def load_ipython_extension(ipython) -> None:
    try:
        limits = json.loads(os.environ[VARIABLE])
    except (KeyError, ValueError):
        return

    def after_cell(result) -> None:
        """Under a cell that failed because of a limit, the sentence that says which."""
        sentence = explain(result.error_in_exec, limits) if result.error_in_exec is not None else None
        if sentence:
            print(f"\n[campus] {sentence}", file=sys.stderr)

    ipython.events.register("post_run_cell", after_cell)
    if stopped_since_last_kernel(limits):
        def tell_once(*_):
            print(f"[campus] This session ran out of its {size(limits['memory'])} of memory, and the system stopped "
                  "its biggest process (a kernel, if a notebook's variables are gone). Work on less data at once, "
                  "or ask a campus admin for a larger limit.", file=sys.stderr)
            ipython.events.unregister("pre_run_cell", tell_once)
        ipython.events.register("pre_run_cell", tell_once)
