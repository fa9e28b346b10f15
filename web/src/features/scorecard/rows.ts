/**
 * The scorecard's rows, pure: the goal tree flattened in cascade order with its depth,
 * then filtered and grouped (by unit or by perspective). Kept free of React so the
 * rules are unit-tested (rows.test.ts).
 */
import type { GoalNode } from "@/shared/api/queries";
import type { GoalStatus } from "@/shared/lib/format";

export type { GoalNode };

export type Row = { goal: GoalNode; depth: number; path: string[] };

export function flatten(nodes: GoalNode[], depth = 0, path: string[] = []): Row[] {
  return nodes.flatMap((goal) => [
    { goal, depth, path },
    ...flatten(goal.children, depth + 1, [...path, goal.title]),
  ]);
}

export type Filters = {
  status: GoalStatus | "";
  unit: string;
  owner: string;
  cycle: string;
  perspective: string;
  search: string;
};

export const NO_FILTERS: Filters = {
  status: "",
  unit: "",
  owner: "",
  cycle: "",
  perspective: "",
  search: "",
};

/** The owner's name: the person `owner_id` names (via `names`), else the free-text owner. */
export function ownerOf(goal: GoalNode, names?: Map<string, string>): string | null {
  if (goal.owner_id) return names?.get(goal.owner_id) ?? goal.owner ?? null;
  return goal.owner ?? null;
}

export function isFiltered(filters: Filters): boolean {
  return Object.values(filters).some((v) => v !== "");
}

/** Rows matching every filter; `unitScope` holds the chosen unit and its sub-units. */
export function filterRows(
  rows: Row[],
  filters: Filters,
  unitScope: Set<string>,
  names?: Map<string, string>,
): Row[] {
  const search = filters.search.trim().toLowerCase();
  return rows.filter(({ goal }) => {
    if (filters.status && goal.status.status !== filters.status) return false;
    if (filters.unit && !(goal.unit_id && unitScope.has(goal.unit_id))) return false;
    if (filters.owner && ownerOf(goal, names) !== filters.owner) return false;
    if (filters.cycle && goal.cycle_id !== filters.cycle) return false;
    if (filters.perspective && (goal.perspective ?? "") !== filters.perspective) return false;
    if (search) {
      const text = `${goal.title} ${goal.description} ${ownerOf(goal, names) ?? ""}`.toLowerCase();
      if (!text.includes(search)) return false;
    }
    return true;
  });
}

/** The unit and every unit below it. */
export function subtreeOf(unitId: string, units: { id: string; parent_id: string | null }[]) {
  const scope = new Set([unitId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const unit of units) {
      if (unit.parent_id && scope.has(unit.parent_id) && !scope.has(unit.id)) {
        scope.add(unit.id);
        grew = true;
      }
    }
  }
  return scope;
}

export type Grouping = "tree" | "unit" | "perspective";
export type Group = { key: string; title: string; rows: Row[] };

/** Groups in first-seen order; rows keep cascade order inside a group. */
export function groupRows(
  rows: Row[],
  grouping: Grouping,
  unitName: (id: string) => string,
): Group[] {
  if (grouping === "tree") return [{ key: "all", title: "", rows }];
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const key =
      grouping === "unit" ? (row.goal.unit_id ?? "") : (row.goal.perspective ?? "");
    const title =
      grouping === "unit"
        ? key
          ? unitName(key)
          : "No unit"
        : key
          ? PERSPECTIVE_LABEL[key] ?? key
          : "No perspective";
    if (!groups.has(key)) groups.set(key, { key, title, rows: [] });
    groups.get(key)!.rows.push(row);
  }
  return [...groups.values()];
}

export const PERSPECTIVE_LABEL: Record<string, string> = {
  financial: "Financial",
  customer: "Customer",
  internal_process: "Internal process",
  learning_growth: "Learning and growth",
};

export function statusCounts(rows: Row[]): Map<GoalStatus, number> {
  const counts = new Map<GoalStatus, number>();
  for (const { goal } of rows) counts.set(goal.status.status, (counts.get(goal.status.status) ?? 0) + 1);
  return counts;
}
