"""The airlock's settings, each declared once with its default and help.

Set from the environment as ``CAMPUS_AIRLOCK_<NAME>`` (e.g.
``CAMPUS_AIRLOCK_REVIEWERS_REQUIRED=2`` for two-reviewer mode).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AirlockSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPUS_AIRLOCK_")

    store_dir: Path | None = Field(
        None, description="Where checked tables and files are kept (by sha256); defaults to <state_dir>/airlock."
    )
    reviewers_required: int = Field(
        1, ge=1, le=2,
        description="Distinct reviewers who must approve a request before it can be released (2: two-reviewer mode).",
    )
    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0, description="The largest file (figure) that can be exported.")
    page_rows: int = Field(500, gt=0, description="Rows of a checked table shown on the review page.")
    requests_per_day: int = Field(50, gt=0, description="Export requests one user may make in 24 hours.")
    bytes_per_day: int = Field(
        200 * 1024 * 1024, gt=0, description="Bytes of tables and files one user may submit for export in 24 hours."
    )
