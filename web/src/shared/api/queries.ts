/**
 * Reads more than one feature needs (the goal tree, units, KPIs, cycles), kept here so
 * features never import each other.
 */
import { useQuery } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";
import type { Cycle } from "@/shared/api/planned";

/** How often live views re-read statuses; the evaluator re-evaluates about as often. */
export const LIVE_REFRESH_MS = 15_000;

/** Fields other issues add to goals and units (SPEC §12), read when present. */
export type PlannedGoalFields = {
  perspective?: string | null;
  cycle_id?: string | null;
  owner_id?: string | null;
  owner_name?: string | null;
};
export type PlannedStatusFields = {
  check_in?: {
    last_at: string | null;
    due_at: string | null;
    overdue: boolean;
    confidence?: number | null;
  } | null;
  initiatives?: { total: number; done: number; blocked?: number } | null;
};
export type GoalNode = Omit<Schemas["GoalNode"], "children" | "status"> &
  PlannedGoalFields & {
    status: Schemas["GoalStatusOut"] & PlannedStatusFields;
    children: GoalNode[];
  };
export type Unit = Schemas["UnitOut"] & {
  vision?: string | null;
  mission?: string | null;
  values?: string[] | null;
};

export function useGoalTree(root?: string) {
  return useQuery({
    queryKey: ["goals", "tree", root ?? null],
    queryFn: async () =>
      (await request(api.GET("/v1/goals/tree", { params: { query: root ? { root } : {} } })))
        .items as GoalNode[],
    refetchInterval: LIVE_REFRESH_MS,
  });
}

export function useUnits() {
  return useQuery({
    queryKey: ["units"],
    queryFn: async () => {
      const items: Unit[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(
          api.GET("/v1/units", { params: { query: { limit: 1000, cursor } } }),
        );
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return items;
    },
    staleTime: 60_000,
  });
}

export function useKpiMap() {
  return useQuery({
    queryKey: ["kpis", "all"],
    queryFn: async () => {
      const page = await request(api.GET("/v1/kpis", { params: { query: { limit: 1000 } } }));
      return new Map(page.items.map((k) => [k.key, k]));
    },
    staleTime: 60_000,
  });
}

/** Cycles (SPEC §12); an error (such as the endpoint missing) means "no cycles". */
export function useCycles() {
  return useQuery({
    queryKey: ["cycles"],
    queryFn: async (): Promise<Cycle[]> => (await request(api.GET("/v1/cycles"))).items,
    staleTime: 60_000,
    retry: false,
  });
}
