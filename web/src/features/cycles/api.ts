/** Cycles and carry-forward (SPEC §12): the writes of the cycles page. */
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

export function useCreateCycle() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CycleCreate"]) => request(api.POST("/v1/cycles", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["cycles"] }),
  });
}

export function useDeleteCycle() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (cycleId: string) =>
      request(api.DELETE("/v1/cycles/{cycle_id}", { params: { path: { cycle_id: cycleId } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["cycles"] }),
  });
}

export function useCarryForward() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ from, body }: { from: string; body: Schemas["CarryForward"] }) =>
      request(
        api.POST("/v1/cycles/{cycle_id}/carry-forward", { params: { path: { cycle_id: from } }, body }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["goals"] }),
  });
}
