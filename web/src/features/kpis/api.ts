/** KPIs: list, one KPI, its series and breakdown, definition writes and the expression check. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, api, request, type Schemas } from "@/shared/api/client";

export function useKpis() {
  return useQuery({
    queryKey: ["kpis", "list"],
    queryFn: async () =>
      (await request(api.GET("/v1/kpis", { params: { query: { limit: 1000 } } }))).items,
  });
}

export function useKpi(key: string) {
  return useQuery({
    queryKey: ["kpi", key],
    queryFn: () => request(api.GET("/v1/kpis/{key}", { params: { path: { key } } })),
  });
}

export function useSeries(key: string, rangeHours: number, step: string) {
  return useQuery({
    queryKey: ["kpi", key, "values", rangeHours, step],
    refetchInterval: 30_000,
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - rangeHours * 3_600_000);
      return request(
        api.GET("/v1/kpis/{key}/values", {
          params: {
            path: { key },
            query: { from: from.toISOString(), to: to.toISOString(), ...(step ? { step } : {}) },
          },
        }),
      );
    },
  });
}

export function useMetrics() {
  return useQuery({
    queryKey: ["metrics"],
    staleTime: 60_000,
    queryFn: async () =>
      (await request(api.GET("/v1/metrics", { params: { query: { limit: 1000 } } }))).items,
  });
}

export function useBreakdown(key: string, by: string, rangeHours: number) {
  return useQuery({
    queryKey: ["kpi", key, "breakdown", by, rangeHours],
    enabled: Boolean(by),
    retry: false,
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - rangeHours * 3_600_000);
      return request(
        api.GET("/v1/kpis/{key}/breakdown", {
          params: { path: { key }, query: { by, from: from.toISOString(), to: to.toISOString() } },
        }),
      );
    },
  });
}

export type ExpressionVerdict =
  | { ok: true; expression: string; metrics: string[]; warnings: Schemas["ExpressionWarning"][] }
  | { ok: false; message: string; position: number | null };

/** Parse an expression on the api without saving; a 422 becomes its message and position. */
export async function checkExpression(expression: string): Promise<ExpressionVerdict> {
  try {
    const checked = await request(api.POST("/v1/kpis/expression-check", { body: { expression } }));
    return { ok: true, ...checked, warnings: checked.warnings ?? [] };
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      const first = (error.problem["errors"] as { message?: string; position?: number }[] | undefined)?.[0];
      return {
        ok: false,
        message: first?.message ?? error.detail,
        position: typeof first?.position === "number" ? first.position : null,
      };
    }
    throw error;
  }
}

export function useSaveKpi(existing: string | null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["KpiCreate"]) =>
      existing
        ? request(
            api.PATCH("/v1/kpis/{key}", {
              params: { path: { key: existing } },
              body: {
                name: body.name,
                description: body.description,
                unit: body.unit,
                expression: body.expression,
                kind: body.kind,
                category: body.category ?? null,
              },
            }),
          )
        : request(api.POST("/v1/kpis", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["kpi"] }).then(() => client.invalidateQueries({ queryKey: ["kpis"] })),
  });
}

/** The sources (pulled data) that feed any of `metrics`; only for those who may see
 * sources (admins and editors), empty otherwise. */
export function useFeedingSources(metrics: string[], allowed: boolean) {
  return useQuery({
    queryKey: ["sources", "feeding", metrics],
    enabled: allowed && metrics.length > 0,
    queryFn: async () => {
      const all = (await request(api.GET("/v1/sources", { params: { query: { limit: 1000 } } })))
        .items;
      return all.filter((s) => metrics.includes(s.metric));
    },
  });
}
