/** Sources (pulled data, docs/sources.md): list, create, change, delete, preview, run now and the run log. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

export type Source = Schemas["SourceOut"];
export type Run = Schemas["RunOut"];
export type SourceCreate = Schemas["SourceCreate"];
export type SourceUpdate = Schemas["SourceUpdate"];
export type Preview = Schemas["PreviewOut"];

export function useSources() {
  return useQuery({
    queryKey: ["sources"],
    refetchInterval: 5_000,
    queryFn: async () =>
      (await request(api.GET("/v1/sources", { params: { query: { limit: 1000 } } }))).items,
  });
}

export function useRuns(sourceId: string | null) {
  return useQuery({
    queryKey: ["sources", sourceId, "runs"],
    enabled: Boolean(sourceId),
    refetchInterval: 2_000,
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/sources/{source_id}/runs", {
            params: { path: { source_id: sourceId ?? "" }, query: { limit: 20 } },
          }),
        )
      ).items,
  });
}

export function useCreateSource() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SourceCreate) => request(api.POST("/v1/sources", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["sources"] }),
  });
}

export function usePreview() {
  return useMutation({
    mutationFn: (body: Schemas["SourcePreview"]) =>
      request(api.POST("/v1/sources/preview", { body })),
  });
}

export function useRunNow() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sourceId: string) =>
      request(api.POST("/v1/sources/{source_id}/runs", { params: { path: { source_id: sourceId } } })),
    onSuccess: (_run, sourceId) =>
      void client.invalidateQueries({ queryKey: ["sources", sourceId, "runs"] }),
  });
}

export function useUpdateSource(sourceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SourceUpdate) =>
      request(api.PATCH("/v1/sources/{source_id}", { params: { path: { source_id: sourceId } }, body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["sources"] }),
  });
}

export function useDeleteSource() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sourceId: string) =>
      request(api.DELETE("/v1/sources/{source_id}", { params: { path: { source_id: sourceId } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["sources"] }),
  });
}
