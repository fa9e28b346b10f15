/**
 * Reads more than one feature needs (the goal tree, units, KPIs, cycles), kept here so
 * features never import each other.
 */
import { useQuery } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

/** How often live views re-read statuses; the evaluator re-evaluates about as often. */
export const LIVE_REFRESH_MS = 15_000;

export type GoalNode = Schemas["GoalNode"];
export type Unit = Schemas["UnitOut"];

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
    queryFn: async () => (await request(api.GET("/v1/cycles", { params: { query: { limit: 1000 } } }))).items,
    staleTime: 60_000,
    retry: false,
  });
}

/**
 * Names of the people goals and units point at (`owner_id`), for display. Admins read
 * `/v1/users`; everyone else (who may not list people) gets the names the unit member
 * lists show, which cover every lead and member.
 */
export function useDirectory() {
  const units = useUnits();
  return useQuery({
    queryKey: ["directory", units.data?.length ?? 0],
    enabled: units.data !== undefined,
    staleTime: 300_000,
    queryFn: async () => {
      const names = new Map<string, string>();
      try {
        const users = await request(api.GET("/v1/users", { params: { query: { limit: 1000 } } }));
        for (const u of users.items) names.set(u.id, u.name);
        return names;
      } catch {
        // Not an admin: fall back to the unit member lists.
      }
      const lists = await Promise.all(
        (units.data ?? []).map((u) =>
          request(api.GET("/v1/units/{unit_id}/members", { params: { path: { unit_id: u.id } } })).catch(
            () => [],
          ),
        ),
      );
      for (const m of lists.flat()) names.set(m.user_id, m.name);
      return names;
    },
  });
}
