/**
 * Acknowledging and resolving an alert: the one mutation the alerts page and a goal's
 * page both offer, kept here so neither feature imports the other.
 */
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";

import { api, request } from "@/shared/api/client";

export type AlertAction = "ack" | "resolve";

/** `POST /v1/alerts/{id}/ack` or `/resolve` with an optional note (empty means none). */
export function actOnAlert(id: string, action: AlertAction, note: string) {
  const params = { params: { path: { alert_id: id } }, body: { note: note || null } };
  return request(
    action === "ack"
      ? api.POST("/v1/alerts/{alert_id}/ack", params)
      : api.POST("/v1/alerts/{alert_id}/resolve", params),
  );
}

/** The mutation; every alert list is re-read afterwards, and `alsoRefresh` with it. */
export function useAlertAction(alsoRefresh: QueryKey[] = []) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action, note }: { id: string; action: AlertAction; note: string }) =>
      actOnAlert(id, action, note),
    onSuccess: () => {
      for (const queryKey of [["alerts"], ...alsoRefresh]) {
        void client.invalidateQueries({ queryKey });
      }
    },
  });
}
