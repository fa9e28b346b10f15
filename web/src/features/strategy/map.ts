/**
 * The strategy map, pure: every goal of the cascade under its perspective — its own, or
 * else the nearest ancestor's (a sub-goal serves the perspective its parent was set in) —
 * in cascade order, with the known perspectives first, then any other name, then goals
 * no ancestor gave one.
 */
import type { GoalNode } from "@/shared/api/queries";

export const PERSPECTIVES: [string, string][] = [
  ["financial", "Financial"],
  ["customer", "Customer"],
  ["internal_process", "Internal process"],
  ["learning_growth", "Learning and growth"],
];

export type MapGoal = {
  goal: GoalNode;
  /** The parent's title, if any. */
  parentTitle: string | null;
  /** True when the perspective comes from an ancestor. */
  inherited: boolean;
};

export type MapColumn = { key: string; label: string; goals: MapGoal[] };

export function strategyMap(roots: GoalNode[]): MapColumn[] {
  const placed: { key: string; item: MapGoal }[] = [];
  const walk = (node: GoalNode, parent: GoalNode | null, inheritedFrom: string | null) => {
    const own = node.perspective || null;
    const key = own ?? inheritedFrom ?? "";
    placed.push({ key, item: { goal: node, parentTitle: parent?.title ?? null, inherited: own === null && key !== "" } });
    for (const child of node.children) walk(child, node, key || null);
  };
  for (const root of roots) walk(root, null, null);
  const known = new Set(PERSPECTIVES.map(([k]) => k));
  const others = [...new Set(placed.map((p) => p.key).filter((k) => k && !known.has(k)))].sort();
  const columns: MapColumn[] = [
    ...PERSPECTIVES.map(([key, label]) => ({ key, label, goals: [] as MapGoal[] })),
    ...others.map((key) => ({ key, label: key.replace(/_/g, " "), goals: [] as MapGoal[] })),
    { key: "", label: "No perspective", goals: [] },
  ];
  const byKey = new Map(columns.map((c) => [c.key, c]));
  for (const { key, item } of placed) byKey.get(key)?.goals.push(item);
  return columns.filter((c) => c.key !== "" || c.goals.length > 0);
}
