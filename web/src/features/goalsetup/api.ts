/** Setting up goals: the writes of the new-goal form, archive and delete. */
import { useMutation, useQueryClient } from "@tanstack/react-query";

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
