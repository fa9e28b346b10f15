/**
 * What a review shows about each goal beyond its frozen snapshot: the KPI's unit (so
 * numbers read "44.6M EUR"), the org unit and the owner by name, and the goal's target as
 * it is now (a target change's form starts from it).
 */
import { useDirectory, useKpiMap, useUnits } from "@/shared/api/queries";

import { useGoalChoices } from "./api";

export type GoalFacts = {
  /** The KPI's unit, e.g. "EUR"; undefined for a roll-up goal or a KPI without one. */
  measure: string | undefined;
  unitName: string | null;
  owner: string | null;
  currentTarget: number | null;
  start: string | null;
  due: string | null;
  baseline: number;
};

export function useGoalFacts(): { ready: boolean; facts: (goalId: string) => GoalFacts } {
  const goals = useGoalChoices();
  const kpis = useKpiMap();
  const units = useUnits();
  const people = useDirectory();
  const byId = new Map((goals.data ?? []).map((g) => [g.id, g]));
  const unitNames = new Map((units.data ?? []).map((u) => [u.id, u.name]));
  return {
    ready: goals.data !== undefined && kpis.data !== undefined && people.data !== undefined,
    facts: (goalId) => {
      const goal = byId.get(goalId);
      const measure = goal?.kpi ? kpis.data?.get(goal.kpi)?.unit || undefined : undefined;
      const owner = goal?.owner_id ? (people.data?.get(goal.owner_id) ?? goal.owner ?? null) : (goal?.owner ?? null);
      return {
        measure,
        unitName: goal?.unit_id ? (unitNames.get(goal.unit_id) ?? null) : null,
        owner,
        currentTarget: goal?.target ?? null,
        start: goal?.start ?? null,
        due: goal?.due ?? null,
        baseline: goal?.baseline ?? 0,
      };
    },
  };
}
