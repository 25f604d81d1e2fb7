"""extractguard: disclosure control for aggregate results, a library of its own.

It computes nothing from data itself: given a table of cells with their safety statistics
(`cells`), it applies the disclosure rules (`rules`), releases values with seeded noise
(`noise`) and says what it did (`report`); `formatting` writes released values as a
person reads them. It imports nothing from the application that uses it, so any engine
or application can hand it statistics.
"""

from importlib import import_module

#: Each name and the module holding it; loaded when first used, so reading the rules'
#: parameters (`rules.Disclosure`) does not load the guard's table libraries.
_WHERE = {"Cells": "cells", "Measure": "cells", "Assessment": "guard", "Checked": "guard", "Scoped": "guard",
          "assess": "guard", "check": "guard", "Measured": "report", "Report": "report", "Disclosure": "rules"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'extractguard' has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
