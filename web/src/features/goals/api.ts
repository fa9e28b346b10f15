/** The goal page's reads and writes, each through the generated client. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { useAlertAction } from "@/shared/api/alerts";
import { api, request, type Schemas } from "@/shared/api/client";

import type { GoalWithPlans } from "./types";

export function useGoal(goalId: string) {
  return useQuery({
    queryKey: ["goal", goalId],
    queryFn: async () =>
      (await request(
        api.GET("/v1/goals/{goal_id}", { params: { path: { goal_id: goalId } } }),
      )) as GoalWithPlans,
    refetchInterval: 15_000,
  });
}

export function useHistory(goalId: string) {
  return useQuery({
    queryKey: ["goal", goalId, "history"],
    queryFn: () =>
      request(api.GET("/v1/goals/{goal_id}/history", { params: { path: { goal_id: goalId } } })),
    refetchInterval: 30_000,
  });
}

export function useKpi(key: string | null) {
  return useQuery({
    queryKey: ["kpi", key],
    enabled: Boolean(key),
    queryFn: () => request(api.GET("/v1/kpis/{key}", { params: { path: { key: key! } } })),
    staleTime: 60_000,
  });
}

/** The KPI's value per step over the goal's period so far (for the chart's fallback). */
export function useKpiSeries(key: string | null, start: string | null, due: string | null) {
  return useQuery({
    queryKey: ["kpi", key, "series", start, due],
    enabled: Boolean(key && start),
    staleTime: 60_000,
    queryFn: () => {
      const to = new Date(Math.min(Date.now(), due ? new Date(due).getTime() : Date.now()));
      return request(
        api.GET("/v1/kpis/{key}/values", {
          params: { path: { key: key! }, query: { from: start!, to: to.toISOString() } },
        }),
      );
    },
  });
}

export function useGoalAlerts(goalId: string) {
  return useQuery({
    queryKey: ["alerts", { goal_id: goalId }],
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/alerts", { params: { query: { goal_id: goalId, state: "unresolved" } } }),
        )
      ).items,
    refetchInterval: 15_000,
  });
}

export function useGoalAlertAction(goalId: string) {
  return useAlertAction([["goal", goalId, "history"]]);
}

export function useCheckIns(goalId: string) {
  return useQuery({
    queryKey: ["goal", goalId, "check-ins"],
    retry: false,
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/goals/{goal_id}/check-ins", { params: { path: { goal_id: goalId } } }),
        )
      ).items,
  });
}

export function usePostCheckIn(goalId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CheckInCreate"]) =>
      request(
        api.POST("/v1/goals/{goal_id}/check-ins", {
          params: { path: { goal_id: goalId } },
          body,
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["goal", goalId] });
    },
  });
}

export function useInitiatives(goalId: string) {
  return useQuery({
    queryKey: ["initiatives", { goal_id: goalId }],
    retry: false,
    queryFn: async () =>
      (await request(api.GET("/v1/initiatives", { params: { query: { goal_id: goalId } } })))
        .items,
  });
}

export function useUpdateInitiative() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas["InitiativeUpdate"] }) =>
      request(
        api.PATCH("/v1/initiatives/{initiative_id}", {
          params: { path: { initiative_id: id } },
          body,
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["initiatives"] }),
  });
}

export function useCreateInitiative() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["InitiativeCreate"]) => request(api.POST("/v1/initiatives", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["initiatives"] }),
  });
}

export function useDrivers(goalId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["goal", goalId, "drivers"],
    enabled,
    retry: false,
    staleTime: 60_000,
    queryFn: () =>
      request(
        api.GET("/v1/goals/{goal_id}/drivers", {
          params: { path: { goal_id: goalId }, query: { compare: "expected" } },
        }),
      ),
  });
}

export function useReviewsForChoice() {
  return useQuery({
    queryKey: ["reviews", "choice"],
    staleTime: 60_000,
    queryFn: async () =>
      (await request(api.GET("/v1/reviews", { params: { query: { limit: 50 } } }))).items,
  });
}

export function useUpdateGoal(goalId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["GoalUpdate"]) =>
      request(
        api.PATCH("/v1/goals/{goal_id}", { params: { path: { goal_id: goalId } }, body }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["goal", goalId] });
      void client.invalidateQueries({ queryKey: ["goals"] });
    },
  });
}
