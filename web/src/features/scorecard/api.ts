/** The scorecard's own read: each KPI goal's trend for its sparkline. */
import { useQuery } from "@tanstack/react-query";

import { api, request } from "@/shared/api/client";

/** A KPI's trend over a goal's period so far, as ~24 points for a sparkline. */
export function useTrend(kpi: string | null, start: string | null, due: string | null) {
  return useQuery({
    queryKey: ["kpi-trend", kpi, start, due],
    enabled: Boolean(kpi && start),
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
      return values.points.map((p) => p.value);
    },
  });
}
