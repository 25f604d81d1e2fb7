"""Where the campus finds its configuration, data and state.

Each setting is declared once, with its default and help, and can be set from the
environment as ``CAMPUS_<NAME>`` (e.g. ``CAMPUS_DATA_DIR=/srv/campus/data``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _state_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "campus"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPUS_")

    root: Path = Field(
        PROJECT_ROOT,
        description="The campus configuration: datasets/catalog.yaml, policies/, hub/.",
    )
    state_dir: Path = Field(
        default_factory=_state_home,
        description="Where the campus keeps what it generates and records (outside the tracked tree).",
    )
    data_dir: Path | None = Field(
        None, description="Where dataset Parquet lives; defaults to <state_dir>/data."
    )

    db_url: str | None = Field(
        None, description="The service database (audit, exports): SQLAlchemy URL; defaults to SQLite in state_dir."
    )
    engine: str = Field("duckdb", description="The engine that reads the data (campus.engines: duckdb).")
    query_seconds: float = Field(120.0, gt=0, description="A query running longer is cancelled.")
    query_memory: str = Field("4GB", description="DuckDB memory limit for queries.")
    user_requests_per_second: float = Field(
        20.0, gt=0, description="Data service requests one user may make a second, on average (then 429)."
    )
    user_request_burst: int = Field(100, gt=0, description="...and at once after a pause.")
    user_concurrent: int = Field(
        4, gt=0, description="Data service requests one user may have in progress at once (then 429)."
    )
    queries_at_once: int = Field(
        default_factory=lambda: max(2, os.cpu_count() or 2),
        gt=0, description="Queries the data service runs at once; while others wait, one user gets at most half.",
    )

    @property
    def database(self) -> str:
        return self.db_url or f"sqlite:///{self.state_dir / 'campus.db'}"

    @property
    def catalog_path(self) -> Path:
        return self.root / "datasets" / "catalog.yaml"

    @property
    def data(self) -> Path:
        return self.data_dir or self.state_dir / "data"
