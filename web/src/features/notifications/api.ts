/**
 * The Notifications page's reads and writes (SPEC §14), each through the generated client.
 * Channels, subscriptions and digests are read as lists (the api holds only what the
 * caller may see: their own, and unit channels for leads, editors and admins) and
 * narrowed to the person's own channels on the page; quiet hours are the caller's own.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";

import type { DigestCreate, PreferencesIn, SubscriptionCreate } from "./settings";

/** Every page of a cursor-paged list. */
async function allPages<T>(read: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>) {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

export function useChannels() {
  return useQuery({
    queryKey: ["channels"],
    queryFn: () =>
      allPages((cursor) => request(api.GET("/v1/channels", { params: { query: { limit: 1000, cursor } } }))),
  });
}

export function useSubscriptions() {
  return useQuery({
    queryKey: ["subscriptions"],
    queryFn: () =>
      allPages((cursor) =>
        request(api.GET("/v1/subscriptions", { params: { query: { limit: 1000, cursor } } })),
      ),
  });
}

export function useDigests() {
  return useQuery({
    queryKey: ["digests"],
    queryFn: () => request(api.GET("/v1/digests")),
  });
}

export function usePreferences() {
  return useQuery({
    queryKey: ["notification-preferences"],
    queryFn: () => request(api.GET("/v1/me/notification-preferences")),
  });
}

/** A channel's delivery log, newest first; re-read while the page is open. */
export function useDeliveries(channelId: string | null) {
  return useQuery({
    queryKey: ["deliveries", channelId],
    enabled: Boolean(channelId),
    refetchInterval: 15_000,
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/channels/{channel_id}/deliveries", {
            params: { path: { channel_id: channelId! }, query: { limit: 50 } },
          }),
        )
      ).items,
  });
}

export function useCreateSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SubscriptionCreate) => request(api.POST("/v1/subscriptions", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["subscriptions"] }),
  });
}

export function useDeleteSubscription() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      request(api.DELETE("/v1/subscriptions/{subscription_id}", { params: { path: { subscription_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["subscriptions"] }),
  });
}

export function useCreateDigest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: DigestCreate) => request(api.POST("/v1/digests", { body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["digests"] });
      // A new digest sends the current period's summary at once.
      void client.invalidateQueries({ queryKey: ["deliveries"] });
    },
  });
}

export function useDeleteDigest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      request(api.DELETE("/v1/digests/{digest_id}", { params: { path: { digest_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["digests"] }),
  });
}

export function useSavePreferences() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PreferencesIn) => request(api.PUT("/v1/me/notification-preferences", { body })),
    onSuccess: (saved: Schemas["PreferencesOut"]) =>
      client.setQueryData(["notification-preferences"], saved),
  });
}
