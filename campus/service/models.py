"""The data service's request and response bodies (they make its OpenAPI schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..gateway.cost import BudgetLine, Cost  # noqa: F401  (the API's bodies: one class each)
from ..text import Sql

NAME = r"^[a-z][a-z0-9_]*$"
PROJECT = r"^[a-z][a-z0-9_.-]*$"


def project_field():
    return Field(None, max_length=200, pattern=PROJECT,
                 description="Work within this project: its grants apply, and its name is in the audit trail.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlRequest(Strict):
    sql: Sql
    project: str | None = project_field()


class ExplainRequest(Strict):
    dataset: str = Field(max_length=100, pattern=NAME)
    columns: list[str] = Field(default_factory=list, max_length=500,
                               description="The columns a query would read (none: may I use the dataset at all?).")
    shape: Literal["aggregates", "rows"] = "aggregates"
    action: Literal["query", "export"] = "query"
    project: str | None = project_field()


class Error(BaseModel):
    code: str = Field(description="What kind of error: denied, query_rejected, unauthenticated, ...")
    reason: str = Field(description="What went wrong and what to do next.")


class Me(BaseModel):
    user: str
    groups: list[str]
    via: Literal["token", "hub"]


class Health(BaseModel):
    status: Literal["ok"]


class ColumnInfo(BaseModel):
    name: str
    type: str
    role: str
    unit: str | None = None
    grain: str | None = None
    description: str


class DatasetSummary(BaseModel):
    name: str
    title: str
    description: str
    tier: str
    steward: str
    entity: str | None = Field(description="The person or firm the rules protect; count(DISTINCT entity) counts them.")
    mode: Literal["aggregates", "rows"]
    grant: str
    columns: list[str] = Field(description="The columns you may use.")


class DatasetDescription(DatasetSummary):
    columns: list[ColumnInfo]  # type: ignore[assignment]
    reasons: list[str] = Field(description="Why you may use it (the grant that decided).")
    row_cap: int | None = None
    export: str | None = None


class CostRequest(Strict):
    sql: Sql
    project: str | None = project_field()


class ArrowResult(BaseModel):
    """The JSON form of a query's result (``Accept: application/json``)."""

    columns: list[dict]
    rows: list[list]
    report: dict
    notes: list[str]
    decisions: list[dict]
