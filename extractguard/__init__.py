"""extractguard: disclosure control for aggregate results and the export airlock."""

from .cells import Cells, Measure
from .guard import Assessment, Checked, Scoped, assess, check
from .report import Report
from .rules import Disclosure

__all__ = ["Assessment", "Cells", "Checked", "Disclosure", "Measure", "Report", "Scoped", "assess", "check"]
