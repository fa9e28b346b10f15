"""Goals as code: the documents (SPEC §18) and their JSON Schema.

A document is `{apiVersion: northstar/v1, kind, metadata: {name, labels, version?,
reason?}, spec}`. Each kind's `spec` is built from the REST resource's create body
(`GoalCreate`, `UnitCreate` …), field for field, with the same types, limits and
descriptions, so the two cannot drift apart; only the references change shape:

- an id field that points at another document's object (`unit_id`, `parent_id`,
  `cycle_id`, `goal_id`, `channel_id`) becomes the field without `_id` holding that
  document's `metadata.name` (`unit: sales-emea`);
- `owner_id` (a user) becomes `owner_email`: people are not documents, their email
  is their stable name;
- a KPI's `key` is its `metadata.name`;
- Channel and Subscription name things inside a mapping (a channel's `owner: {kind,
  id}`, a subscription's `scope`), so their specs are written out (`ChannelSpec`,
  `SubscriptionSpec`, reusing the create bodies' field infos): `unit` or `owner_email`,
  and `scope: {goal | unit | mine}`. A channel's `target` may be `{fromEnv: NAME}`, which
  only the CLI resolves (docs/goals-as-code.md).

`Source` (SPEC §16) is built on another branch: it joins by adding `Kind.SOURCE` (in
its place in the apply order), its create body to `SPEC_MODELS`, its references to
`REFERENCES`, and a handler to `services/api/apply/kinds.py`.

The create bodies' own validators (a webhook URL's scheme, say) are not copied into the
specs: they run on the server, when an apply builds the REST body from the spec.

The CLI validates files offline against these same models (services/cli/).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from northstar.notify.model import ChannelKind, Severity
from services.api.cycles.schemas import CycleCreate
from services.api.fields import KPI_KEY_PATTERN
from services.api.goals.schemas import GoalCreate
from services.api.initiatives.schemas import InitiativeCreate
from services.api.kpis.schemas import KpiCreate
from services.api.notifications.schemas import ChannelCreate, SubscriptionCreate
from services.api.units.schemas import UnitCreate
from services.api.webhooks.schemas import WebhookCreate

API_VERSION = "northstar/v1"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$"
LABEL_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}$"


class Kind(StrEnum):
    """The document kinds, in the order an apply creates them (a kind refers only to
    kinds before it); deletions run in the reverse order."""

    CYCLE = "Cycle"
    UNIT = "Unit"
    KPI = "KPI"
    GOAL = "Goal"
    INITIATIVE = "Initiative"
    WEBHOOK = "Webhook"
    CHANNEL = "Channel"
    SUBSCRIPTION = "Subscription"


APPLY_ORDER: tuple[Kind, ...] = tuple(Kind)


@dataclass(frozen=True, slots=True)
class Reference:
    """A spec field that names another object: `field` in the document stands for
    `rest_field` (an id) of the REST body, and holds the `kind`'s metadata.name (or, for
    `kind` None, a user's email)."""

    field: str
    rest_field: str
    kind: Kind | None


def _ref(kind: Kind, field: str, rest_field: str | None = None) -> Reference:
    return Reference(field, rest_field or f"{field}_id", kind)


OWNER = Reference("owner_email", "owner_id", None)

REFERENCES: dict[Kind, tuple[Reference, ...]] = {
    Kind.CYCLE: (),
    Kind.UNIT: (_ref(Kind.UNIT, "parent"), OWNER),
    Kind.KPI: (OWNER,),
    Kind.GOAL: (
        _ref(Kind.UNIT, "unit"),
        _ref(Kind.GOAL, "parent"),
        _ref(Kind.CYCLE, "cycle"),
        OWNER,
    ),
    Kind.INITIATIVE: (_ref(Kind.GOAL, "goal"), _ref(Kind.UNIT, "unit"), OWNER),
    Kind.WEBHOOK: (),
    Kind.CHANNEL: (_ref(Kind.UNIT, "unit"), OWNER),
    Kind.SUBSCRIPTION: (
        _ref(Kind.CHANNEL, "channel"),
        Reference("scope.goal", "scope.goal_id", Kind.GOAL),
        Reference("scope.unit", "scope.unit_id", Kind.UNIT),
    ),
}
"""Where each kind's spec names other objects. `kpi` on a goal is already a name (the
KPI's key), so it needs no entry. A dotted field is inside a mapping of the spec
(`scope.unit`)."""

IDENTITY_FIELDS: dict[Kind, str] = {Kind.KPI: "key"}
"""REST fields that are the document's `metadata.name` and so not in its spec."""


def _spec_model(kind: Kind, create: type[BaseModel]) -> type[BaseModel]:
    """The kind's spec: the REST create body's fields, references by name."""
    by_rest = {ref.rest_field: ref for ref in REFERENCES[kind]}
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        if name == IDENTITY_FIELDS.get(kind):
            continue
        ref = by_rest.get(name)
        if ref is None:
            fields[name] = (info.annotation, info)
            continue
        what = "a user's email" if ref.kind is None else f"the metadata.name of a {ref.kind}"
        described = info.description or ""
        description = f"{described} Given as {what}.".strip()
        if info.is_required():
            fields[ref.field] = (str, Field(min_length=1, max_length=320, description=description))
        else:
            fields[ref.field] = (
                str | None,
                Field(default=None, min_length=1, max_length=320, description=description),
            )
    model: type[BaseModel] = create_model(
        f"{kind.value}Spec",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
        __doc__=f"The spec of a {kind.value}: the fields of `POST` on its REST resource.",
        **fields,
    )
    return model


class FromEnv(BaseModel):
    """A secret the `northstar` CLI reads from its environment before it sends the
    documents (the server refuses it unresolved)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_env: str = Field(
        alias="fromEnv",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$",
        description="The name of the environment variable holding the value.",
    )


class ChannelSpec(BaseModel):
    """The spec of a Channel: `POST /v1/channels`, its owner by name."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="The channel's name.")
    kind: ChannelKind = ChannelCreate.model_fields["kind"]  # type: ignore[assignment]
    target: Annotated[str, Field(min_length=3, max_length=2000)] | FromEnv | None = Field(
        default=None,
        description="Where messages go (a secret: stored encrypted, never shown or exported). "
        "Required to create the channel; when given later it is compared with the stored one "
        "and replaced if it differs; left out, the stored one stays. The CLI reads it from "
        "the environment with `target: {fromEnv: NAME}`.",
    )
    unit: str | None = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="A team channel: the metadata.name of the Unit that owns it.",
    )
    owner_email: str | None = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="A person's channel: the owner's email. Neither `unit` nor `owner_email`: "
        "the person who applies it. The owner cannot change.",
    )

    @model_validator(mode="after")
    def _one_owner(self) -> ChannelSpec:
        if self.unit is not None and self.owner_email is not None:
            raise ValueError("give at most one of unit or owner_email")
        return self


class ScopeSpec(BaseModel):
    """What a subscription hears about: exactly one of `goal`, `unit` or `mine: true`."""

    model_config = ConfigDict(extra="forbid")

    goal: str | None = Field(
        default=None, min_length=1, max_length=320, description="One goal: a Goal's metadata.name."
    )
    unit: str | None = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="Every goal of this unit and below: a Unit's metadata.name.",
    )
    mine: bool = Field(
        default=False, description="Goals owned by the channel's owner (a person's channel)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ScopeSpec:
        if sum([self.goal is not None, self.unit is not None, self.mine]) != 1:
            raise ValueError("give exactly one of goal, unit or mine: true")
        return self


class SubscriptionSpec(BaseModel):
    """The spec of a Subscription: `POST /v1/subscriptions`, channel and scope by name."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(
        min_length=1, max_length=320, description="The metadata.name of a Channel."
    )
    scope: ScopeSpec
    events: list[str] = SubscriptionCreate.model_fields["events"]  # type: ignore[assignment]
    min_severity: Severity = SubscriptionCreate.model_fields["min_severity"]  # type: ignore[assignment]


SPEC_MODELS: dict[Kind, type[BaseModel]] = {
    Kind.CYCLE: _spec_model(Kind.CYCLE, CycleCreate),
    Kind.UNIT: _spec_model(Kind.UNIT, UnitCreate),
    Kind.KPI: _spec_model(Kind.KPI, KpiCreate),
    Kind.GOAL: _spec_model(Kind.GOAL, GoalCreate),
    Kind.INITIATIVE: _spec_model(Kind.INITIATIVE, InitiativeCreate),
    Kind.WEBHOOK: _spec_model(Kind.WEBHOOK, WebhookCreate),
    Kind.CHANNEL: ChannelSpec,
    Kind.SUBSCRIPTION: SubscriptionSpec,
}


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN,
        description="The object's stable identity within its kind (letters, digits, `_`, "
        "`.`, `-`). A KPI's name is its key.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="Free key/value labels; `northstar apply --prune -l key=value` deletes "
        "the objects carrying them that the files no longer contain.",
    )
    version: str | None = Field(
        default=None,
        max_length=64,
        description="The object's version when it was exported (its last change). An apply "
        "that would change an object changed since is refused (409). Absent: apply as the "
        "latest.",
    )
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Goals: why target, baseline, thresholds or due change. Required for "
        "those changes once the goal has started; kept in the goal's history.",
    )


def _document_model(kind: Kind) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "apiVersion": (Literal["northstar/v1"], Field(description="Always northstar/v1.")),
        "kind": (Literal[kind.value], Field(description="The document's kind.")),
        "metadata": (Metadata, Field(description="Identity, labels and version.")),
        "spec": (SPEC_MODELS[kind], Field(description="The object, as on its REST resource.")),
    }
    model: type[BaseModel] = create_model(
        f"{kind.value}Document",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"A {kind.value} document.",
        **fields,
    )
    return model


DOCUMENT_MODELS: dict[Kind, type[BaseModel]] = {kind: _document_model(kind) for kind in Kind}


class DocumentError(ValueError):
    """A document is not valid: `loc` is the path inside it (pydantic's), `message` what
    is wrong."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc)) or '(document)'}: {message}")
        self.loc = loc
        self.message = message


@dataclass(frozen=True, slots=True)
class Document:
    """A valid document: its kind, metadata and spec."""

    kind: Kind
    metadata: Metadata
    spec: BaseModel

    @property
    def name(self) -> str:
        return self.metadata.name


def parse_document(raw: Any) -> Document:
    """Validate one document (raises `DocumentError` for the first kind of problem, or
    `pydantic.ValidationError` with every problem in the spec and metadata)."""
    if not isinstance(raw, dict):
        raise DocumentError((), "a document is a mapping with apiVersion, kind, metadata, spec")
    if raw.get("apiVersion") != API_VERSION:
        raise DocumentError(("apiVersion",), f"must be {API_VERSION}")
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        raise DocumentError(
            ("kind",), f"must be one of {', '.join(k.value for k in Kind)}"
        ) from None
    model = DOCUMENT_MODELS[kind].model_validate(raw)
    metadata: Metadata = model.metadata  # type: ignore[attr-defined]
    spec: BaseModel = model.spec  # type: ignore[attr-defined]
    if kind is Kind.KPI and not _is_kpi_key(metadata.name):
        raise DocumentError(
            ("metadata", "name"), f"a KPI's name is its key and must match {KPI_KEY_PATTERN}"
        )
    return Document(kind, metadata, spec)


def _is_kpi_key(name: str) -> bool:
    return re.fullmatch(KPI_KEY_PATTERN, name) is not None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one document (any kind), for editors (`yaml-language-server`)
    and for `GET /v1/schema/northstar-v1.json`. `schemas/northstar-v1.json` in the repo is
    this, written by `python -m services.api.apply.documents`."""

    definitions: dict[str, Any] = {}
    choices = []
    for kind, model in DOCUMENT_MODELS.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(schema.pop("$defs", {}))
        definitions[model.__name__] = schema
        choices.append(
            {
                "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{model.__name__}"},
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "northstar-v1.json",
        "title": "Northstar document (apiVersion northstar/v1)",
        "description": "One goals-as-code document: see docs/goals-as-code.md.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"enum": [k.value for k in Kind]},
        },
        "allOf": choices,
        "$defs": dict(sorted(definitions.items())),
    }


def schema_text() -> str:
    """The schema as the repo keeps it: stable key order, two-space indent, final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
