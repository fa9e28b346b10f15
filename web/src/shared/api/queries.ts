/**
 * Reads more than one feature needs (the goal tree, units, KPIs, cycles), kept here so
 * features never import each other.
 */
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";

import { api, request, type Schemas } from "@/shared/api/client";

/** How often live views re-read statuses; the evaluator re-evaluates about as often. */
export const LIVE_REFRESH_MS = 15_000;

export type GoalNode = Schemas["GoalNode"];
export type Unit = Schemas["UnitOut"];

export function useGoalTree(root?: string, enabled = true) {
  return useQuery({
    queryKey: ["goals", "tree", root ?? null],
    enabled,
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

export type Person = Schemas["PersonOut"];

/** The people directory (`/v1/people`): every person's id and name, by name, the same
 * for every signed-in person (no emails). */
export function usePeople() {
  return useQuery({
    queryKey: ["people"],
    staleTime: 300_000,
    queryFn: async () => {
      const items: Person[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(api.GET("/v1/people", { params: { query: { limit: 1000, cursor } } }));
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return items;
    },
  });
}

/**
 * Names of the people goals, KPIs and units point at (`owner_id`), for display: from the
 * people directory, so an editor sees the same name an admin does.
 */
export function useDirectory() {
  const people = usePeople();
  const data = useMemo(
    () => (people.data ? new Map(people.data.map((p) => [p.id, p.name])) : undefined),
    [people.data],
  );
  return { ...people, data };
}
