"""`POST /v1/apply` and `POST /v1/export` bodies: documents in, the plan out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Prune(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str] = Field(
        min_length=1,
        description="Delete the objects carrying all these labels that the documents no "
        "longer contain.",
    )


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[dict[str, Any]] = Field(
        max_length=20_000,
        description="northstar/v1 documents (see GET /v1/schema/northstar-v1.json).",
    )
    dry_run: bool = Field(
        default=False,
        description="Work out the plan (running every check an apply runs) and change nothing.",
    )
    prune: Prune | None = Field(default=None, description="Delete what the documents dropped.")


class PlannedChange(BaseModel):
    kind: str = Field(description="The document kind.")
    name: str = Field(description="The document's metadata.name.")
    action: Literal["create", "update", "delete"] = Field(description="What happens to it.")
    fields: dict[str, list[Any]] = Field(
        description="`{field: [before, after]}` in document terms (references by name)."
    )


class Plan(BaseModel):
    dry_run: bool = Field(description="True: nothing was changed.")
    changes: list[PlannedChange] = Field(
        description="In the order they are (or would be) made; empty: nothing to change."
    )


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str | None = Field(
        default=None,
        max_length=320,
        description="Only this unit's subtree (its metadata.name or id): its units, their "
        "goals with every goal below them, their initiatives and KPIs. Absent: everything.",
    )


class Exported(BaseModel):
    documents: list[dict[str, Any]] = Field(
        description="Documents with metadata.version, in apply order. Objects without a "
        "name get one, derived from their title, kept from then on."
    )
