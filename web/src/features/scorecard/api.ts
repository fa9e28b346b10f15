/** The scorecard's own reads: a KPI goal's trend and a goal's latest check-in. */
import { useQuery } from "@tanstack/react-query";

import { api, request } from "@/shared/api/client";

/**
 * A KPI's trend over a goal's period so far, as ~24 points for a sparkline: the running
 * total for a plain `sum(...)` KPI (what the goal's actual is), else the value per step.
 * The last, still filling step is left out so the line does not dip at its end.
 */
export function useTrend(
  kpi: string | null,
  start: string | null,
  due: string | null,
  runningTotal: boolean,
  visible: boolean,
) {
  return useQuery({
    queryKey: ["kpi-trend", kpi, start, due, runningTotal],
    enabled: Boolean(kpi && start && visible),
    staleTime: 60_000,
    queryFn: async () => {
      const from = new Date(start!);
      const to = new Date(Math.min(Date.now(), due ? new Date(due).getTime() : Date.now()));
      const minutes = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 60_000 / 24));
      const values = await request(
        api.GET("/v1/kpis/{key}/values", {
          params: {
            path: { key: kpi! },
            query: { from: from.toISOString(), to: to.toISOString(), step: `PT${minutes}M` },
          },
        }),
      );
      const points = values.points.slice(0, -1).map((p) => p.value);
      if (!runningTotal) return points;
      let total = 0;
      return points.map((v) => (total += v ?? 0));
    },
  });
}

/** The goal's latest check-in (the list is newest first), or null. */
export function useLatestCheckIn(goalId: string, visible: boolean) {
  return useQuery({
    queryKey: ["goal", goalId, "check-ins", "latest"],
    enabled: visible,
    staleTime: 60_000,
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/goals/{goal_id}/check-ins", {
            params: { path: { goal_id: goalId }, query: { limit: 1 } },
          }),
        )
      ).items[0] ?? null,
  });
}
