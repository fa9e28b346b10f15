"""The goal tree as JSON, joined from nodes each api process renders once per version of
their rows and keeps.

A tree of a thousand goals is a large JSON document. Building every node's dicts on every
request (the SMART check, the status object), serialising them and collecting the garbage
they left was most of its time (docs/performance.md). Here each goal's node, without its
children, is kept as JSON in two parts: the definition (`definition_dict`, which changes
when the goal is edited) and the status object (which changes at every evaluation). A
request reads the versions of the rows, reuses each part whose versions are the ones just read,
reads and renders the others, and joins bytes; the result is byte for byte what
serialising the whole `GoalTree` at once gives.

Validity comes only from the rows the request itself read, never from time:
- a row's version is its PostgreSQL `xmin`, the transaction that wrote the row version
  the query sees. Every INSERT or UPDATE of the row, by any path (the api, the evaluator's
  `goal_state` writes, a KPI key renamed through `ON UPDATE CASCADE`, a fix by hand in
  SQL), gives the row a new one, so no write path has to remember to bump a column;
- `goals.updated_at` and `goal_state.evaluated_at` are part of the version, so a
  transaction id used again (after a wraparound, or after a restore) would also have to
  write the same timestamp to be mistaken for the cached one;
- the SMART check depends on whether the goal has children, which is part of the key;
- a goal never judged shows its own target in its status, so the status part's key holds
  the goal row's version as well.

Each api replica keeps its own cache. It is bounded (`max_goals` per part, oldest entries
dropped first), so a tree larger than that still answers correctly, only more slowly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from northstar.http.problems import json_bytes
from services.api.goals.repository import TreeGoal, TreeState
from services.api.goals.shapes import definition_dict, status_dict

Part = tuple[tuple[Any, ...], bytes]
"""The row versions a part was rendered from, and its JSON."""


def _definition_version(goal: Any, has_children: bool) -> tuple[Any, ...]:
    return (goal["goal_version"], goal["goal_written"], has_children)


def _status_version(goal: Any) -> tuple[Any, ...]:
    return (
        goal["state_version"],
        goal["state_written"],
        goal["goal_version"],
        goal["goal_written"],
    )


@dataclass(slots=True)
class Found:
    """The parts of a request's nodes that were rendered from the versions it read, held
    by the request, so that other requests changing the cache meanwhile cannot mix other
    versions into its answer."""

    definitions: dict[uuid.UUID, bytes] = field(default_factory=dict)
    statuses: dict[uuid.UUID, bytes] = field(default_factory=dict)
    missing_definitions: list[uuid.UUID] = field(default_factory=list)
    missing_statuses: list[uuid.UUID] = field(default_factory=list)


class GoalNodes:
    """Rendered tree nodes of one api process, by goal id (see the module docstring).

    A request reads the versions (`GoalRepository.tree`), asks `find` for the parts it can
    reuse, reads the columns of the others (`tree_goals`, `tree_states`), and has
    `tree_json` render what is missing and join the document."""

    def __init__(self, max_goals: int = 20_000) -> None:
        self.max_goals = max_goals
        self._definitions: dict[uuid.UUID, Part] = {}
        self._statuses: dict[uuid.UUID, Part] = {}

    def __len__(self) -> int:
        return len(self._definitions)

    def find(self, goals: Sequence[Any]) -> Found:
        """The kept parts rendered from exactly the versions in `goals`, and the goals
        whose parts must be rendered."""
        parents = {goal["parent_id"] for goal in goals}
        found = Found()
        for goal in goals:
            goal_id = goal["id"]
            definition = self._definitions.get(goal_id)
            if definition is not None and definition[0] == _definition_version(
                goal, goal_id in parents
            ):
                found.definitions[goal_id] = definition[1]
            else:
                found.missing_definitions.append(goal_id)
            status = self._statuses.get(goal_id)
            if status is not None and status[0] == _status_version(goal):
                found.statuses[goal_id] = status[1]
            else:
                found.missing_statuses.append(goal_id)
        return found

    def tree_json(
        self,
        goals: Sequence[Any],
        found: Found,
        goal_rows: dict[uuid.UUID, TreeGoal],
        state_rows: dict[uuid.UUID, TreeState],
        root: uuid.UUID | None,
    ) -> bytes:
        """`{"items": [node]}`: the root's subtree, or every goal without a parent,
        children oldest first (`goals` is in that order). `goal_rows` and `state_rows`
        (`GoalRepository.tree_goals`, `tree_states`) hold the columns of every goal whose
        definition, or status, `found` lacks."""
        children: dict[uuid.UUID | None, list[Any]] = {}
        for goal in goals:
            children.setdefault(goal["parent_id"], []).append(goal)
        tops = [g for g in goals if g["id"] == root] if root is not None else children.get(None, [])

        out = [b'{"items":[']
        # Depth first without recursion, so a deep cascade cannot exhaust the stack. Each
        # node is emitted once, even if rows written by hand formed a cycle.
        pending: list[Iterator[Any]] = [iter(tops)]
        emitted: set[uuid.UUID] = set()
        first = True
        while pending:
            goal = next(pending[-1], None)
            if goal is None:
                pending.pop()
                out.append(b"]}")  # a node's children and the node, or items and the tree
                first = False
                continue
            goal_id = goal["id"]
            if goal_id in emitted:
                continue
            emitted.add(goal_id)
            if not first:
                out.append(b",")
            kids = children.get(goal_id)
            definition = found.definitions.get(goal_id)
            if definition is None:
                definition = self._render_definition(goal, goal_rows[goal_id], kids is not None)
            status = found.statuses.get(goal_id)
            if status is None:
                status = self._render_status(goal, state_rows[goal_id])
            out.append(definition)
            out.append(status)
            pending.append(iter(kids or ()))
            first = True
        return b"".join(out)

    def _render_definition(self, goal: Any, row: TreeGoal, has_children: bool) -> bytes:
        """`{"id":…,"smart":{…},"status":` — the node up to its status object."""
        part = json_bytes(definition_dict(row, has_children))
        part = part[:-1] + b',"status":'
        self._keep(self._definitions, goal["id"], (_definition_version(goal, has_children), part))
        return part

    def _render_status(self, goal: Any, row: TreeState) -> bytes:
        """`{…},"children":[` — the status object, and the start of the children."""
        status = status_dict(goal_id=row.id, target=row.goal_target, plan=row, state=row)
        part = json_bytes(status) + b',"children":['
        self._keep(self._statuses, goal["id"], (_status_version(goal), part))
        return part

    def _keep(self, parts: dict[uuid.UUID, Part], goal_id: uuid.UUID, part: Part) -> None:
        if goal_id not in parts and len(parts) >= self.max_goals:
            del parts[next(iter(parts))]
        parts[goal_id] = part
