"""extractguard: disclosure control for aggregate results and the export airlock."""

from .cells import Cells, Measure
from .guard import check
from .report import Report
from .rules import Disclosure

__all__ = ["Cells", "Disclosure", "Measure", "Report", "check"]
