"""extractguard: disclosure control for aggregate results, a library of its own.

It computes nothing from data itself: given a table of cells with their safety statistics
(`cells`), it applies the disclosure rules (`rules`), releases values with seeded noise
(`noise`) and says what it did (`report`). It imports nothing from the campus that uses
it, so any engine or application can hand it statistics.
"""

from .cells import Cells, Measure
from .guard import Assessment, Checked, Scoped, assess, check
from .report import Report
from .rules import Disclosure

__all__ = ["Assessment", "Cells", "Checked", "Disclosure", "Measure", "Report", "Scoped", "assess", "check"]
