"""Reading document files, and checking them offline with `file:line:column` for each
problem.

YAML is read with PyYAML's composer, which keeps each node's start mark: a problem
found in the parsed value (pydantic's `loc`, a KPI expression's character position, a
reference to a name no file defines) is pointed back at the node it came from.
Timestamps are not resolved (they stay text, as in JSON), so `2026-01-01T00:00:00Z`
reaches the models exactly as the api would receive it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from northstar.domain.expressions import ExpressionError, parse_expression
from services.api.apply.documents import (
    REFERENCES,
    Document,
    DocumentError,
    Kind,
    parse_document,
)

# libyaml's parser where the wheel has it (much faster on a quarter's files, see
# docs/performance.md); its nodes carry the same marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader without the YAML 1.1 timestamp type."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(slots=True)
class Loaded:
    """One document as read: where it came from, its raw value and its YAML node."""

    path: str
    raw: Any
    node: yaml.Node
    document: Document | None = None


@dataclass(slots=True)
class Checked:
    loaded: list[Loaded] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def documents(self) -> list[Document]:
        return [d.document for d in self.loaded if d.document is not None]

    @property
    def raw(self) -> list[Any]:
        return [d.raw for d in self.loaded]


def expand(paths: Iterable[str]) -> list[Path]:
    """Files as given, directories as their `*.yaml` / `*.yml` files (sorted, recursive)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found


def load(paths: Sequence[str]) -> Checked:
    """Read every document of the files (a YAML error is a problem at its mark)."""
    checked = Checked()
    for path in expand(paths):
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            checked.problems.append(Problem(name, 1, 1, f"cannot read: {exc.strerror}"))
            continue
        loader = _Loader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                checked.loaded.append(Loaded(name, loader.construct_document(node), node))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            checked.problems.append(Problem(name, line, column, f"{exc.problem or exc}"))
        finally:
            loader.dispose()
    return checked


def _node_at(node: yaml.Node, loc: Sequence[str | int]) -> tuple[yaml.Node, bool]:
    """The node at `loc`, or the deepest node on the way (and whether it got there)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    node = value
                    break
            else:
                return node, False
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return node, False
            node = node.value[part]
        else:
            return node, False
    return node, True


def point_at(item: Loaded, loc: Sequence[str | int], message: str) -> Problem:
    """A problem at the node `loc` names in the document (or the nearest one above)."""
    node, _ = _node_at(item.node, loc)
    return Problem(item.path, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _key_mark(item: Loaded, loc: Sequence[str | int], message: str) -> Problem:
    """An unknown field: point at its key."""
    parent, found = _node_at(item.node, loc[:-1])
    if found and isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if key.value == str(loc[-1]):
                mark = key.start_mark
                return Problem(item.path, mark.line + 1, mark.column + 1, message)
    return point_at(item, loc, message)


def check(paths: Sequence[str], *, references: bool = True, secrets: bool = False) -> Checked:
    """Load and validate: the models, KPI expressions, duplicate names, and (with
    `references`) references to names that no file defines. `plan` and `apply` leave the
    references to the server, which also knows the objects no file holds. With `secrets`
    (`plan`, `apply`) a channel's `target: {fromEnv: NAME}` is replaced by the variable's
    value (unset: a problem); `validate` needs no secrets."""
    checked = load(paths)
    for item in checked.loaded:
        problem = _from_env(item) if secrets else None
        if problem is not None:
            checked.problems.append(problem)
            continue
        try:
            item.document = parse_document(item.raw)
        except DocumentError as exc:
            checked.problems.append(point_at(item, exc.loc, exc.message))
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                where = ".".join(map(str, loc))
                if error["type"] == "extra_forbidden":
                    checked.problems.append(_key_mark(item, loc, f"{where}: unknown field"))
                else:
                    checked.problems.append(point_at(item, loc, f"{where}: {error['msg']}"))
    checked.problems += _expressions(checked.loaded)
    checked.problems += _names(checked.loaded, references)
    checked.problems.sort(key=lambda p: (p.path, p.line, p.column))
    return checked


def _from_env(item: Loaded) -> Problem | None:
    """Put the value of a Channel's `spec.target: {fromEnv: NAME}` in its place."""
    raw = item.raw
    if not isinstance(raw, dict) or raw.get("kind") != Kind.CHANNEL.value:
        return None
    spec = raw.get("spec")
    target = spec.get("target") if isinstance(spec, dict) else None
    if not isinstance(target, dict) or not isinstance(target.get("fromEnv"), str):
        return None  # the models report anything else
    value = os.environ.get(target["fromEnv"])
    if not value:
        return point_at(
            item,
            ("spec", "target", "fromEnv"),
            f"spec.target.fromEnv: the environment variable {target['fromEnv']} is not set",
        )
    assert isinstance(spec, dict)
    spec["target"] = value
    return None


def _expressions(loaded: list[Loaded]) -> list[Problem]:
    problems = []
    for item in loaded:
        document = item.document
        if document is None or document.kind is not Kind.KPI:
            continue
        expression = getattr(document.spec, "expression", "")
        try:
            parse_expression(expression)
        except ExpressionError as exc:
            node, _ = _node_at(item.node, ("spec", "expression"))
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            style = getattr(node, "style", None)
            if style in ('"', "'"):
                column += 1  # the opening quote
            if style in (None, "", '"', "'") and "\n" not in expression:
                column += exc.position
            problems.append(
                Problem(
                    item.path,
                    line,
                    column,
                    f"spec.expression: {exc.message} (at position {exc.position})",
                )
            )
    return problems


def _names(loaded: list[Loaded], references: bool) -> list[Problem]:
    """Duplicate names, and references to names no file defines."""
    problems = []
    defined: dict[tuple[Kind, str], Loaded] = {}
    for item in loaded:
        document = item.document
        if document is None:
            continue
        key = (document.kind, document.name)
        if key in defined:
            first = defined[key]
            problems.append(
                point_at(
                    item,
                    ("metadata", "name"),
                    f"{document.kind} '{document.name}' is defined twice (first in "
                    f"{first.path}:{first.node.start_mark.line + 1})",
                )
            )
        defined.setdefault(key, item)
    for item in loaded if references else ():
        document = item.document
        if document is None:
            continue
        refs = [(r.field, r.kind) for r in REFERENCES[document.kind] if r.kind is not None]
        if document.kind is Kind.GOAL:
            refs.append(("kpi", Kind.KPI))
        for field_name, kind in refs:
            value: Any = document.spec
            for part in field_name.split("."):  # `scope.unit`: inside the spec's scope
                value = getattr(value, part, None)
            if isinstance(value, str) and (kind, value) not in defined:
                problems.append(
                    point_at(
                        item,
                        ("spec", *field_name.split(".")),
                        f"spec.{field_name}: unknown reference: no {kind} named '{value}' "
                        "in these files",
                    )
                )
    return problems
