/** Setting up goals: the writes of the new-goal form, archive and delete. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

export function useCreateGoal() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["GoalCreate"]) => request(api.POST("/v1/goals", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["goals"] }),
  });
}

export function useCreateKpi() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["KpiCreate"]) => request(api.POST("/v1/kpis", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["kpis"] }),
  });
}

/** The parent a sub-goal is created under (its title, unit and perspective). */
export function useParentGoal(goalId: string) {
  return useQuery({
    queryKey: ["goal", goalId],
    enabled: Boolean(goalId),
    queryFn: () => request(api.GET("/v1/goals/{goal_id}", { params: { path: { goal_id: goalId } } })),
  });
}
