"""Synthetic Seoul data for the campus: card usage, sales by location, air quality.

Every disclosure rule downstream is tested on this data, so it is made to look like
the real thing where it matters: real districts and dongs, heavy-tailed spenders and
stores, small cells and dominant contributors. The same seed and scale always give the
same Parquet bytes.

- `seoul`: the geography and vocabularies.
- `card_usage`, `sales_by_location`, `air_quality`: one recipe per dataset, each giving
  what lasts the year (`population`) and then a month at a time (`partition`).
- `build`: writes every month as Parquet with a manifest, and skips what is built.
"""

from .build import MANIFEST, RECIPES, VERSION, Built, build
from ..errors import BuildError

__all__ = ["MANIFEST", "RECIPES", "VERSION", "BuildError", "Built", "build"]
