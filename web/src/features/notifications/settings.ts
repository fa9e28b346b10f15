/**
 * Pure pieces of the Notifications page (docs/notifying-people.md): request bodies for
 * subscriptions, digests and quiet hours, and the words a person reads for scopes, events,
 * severities, digests and deliveries. No React, no requests: vitest checks them.
 */
import type { Schemas } from "@/shared/api/client";

export type Subscription = Schemas["SubscriptionOut"];
export type SubscriptionCreate = Schemas["SubscriptionCreate"];
export type Digest = Schemas["DigestOut"];
export type DigestCreate = Schemas["DigestCreate"];
export type Preferences = Schemas["PreferencesOut"];
export type PreferencesIn = Schemas["PreferencesIn"];
export type Delivery = Schemas["services__api__notifications__schemas__DeliveryOut"];
export type Severity = Schemas["Severity"];
type Scope = Subscription["scope"];

/** The events a subscription may name (`SUBSCRIBABLE_EVENTS`), as a person reads them. */
export const EVENTS: readonly { event: string; label: string }[] = [
  { event: "alert.opened", label: "An alert opens" },
  { event: "alert.updated", label: "An alert escalates" },
  { event: "alert.acknowledged", label: "An alert is acknowledged" },
  { event: "alert.resolved", label: "An alert resolves" },
  { event: "goal.status_changed", label: "The goal's status changes" },
  { event: "check_in.due", label: "A check-in is due" },
  { event: "review.created", label: "A review covers it" },
];

/** What a subscription gets when it names no events (`DEFAULT_EVENTS`). */
export const DEFAULT_EVENTS: readonly string[] = ["alert.opened", "alert.updated", "alert.resolved"];

export const SEVERITIES: readonly { severity: Severity; label: string }[] = [
  { severity: "info", label: "Info and up (everything)" },
  { severity: "warning", label: "Warning and up" },
  { severity: "critical", label: "Critical only" },
];

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;

export function eventLabel(event: string): string {
  return EVENTS.find((e) => e.event === event)?.label ?? event;
}

export type ScopeKind = "mine" | "goal" | "unit";

/**
 * The body of `POST /v1/subscriptions`, or the field a person still has to fill in: a goal
 * or unit scope needs its goal or unit, and at least one event is needed.
 */
export function subscriptionBody(values: {
  channelId: string;
  scope: ScopeKind;
  goalId?: string;
  unitId?: string;
  events: readonly string[];
  minSeverity: Severity;
}): { body: SubscriptionCreate } | { field: string; message: string } {
  if (!values.channelId) return { field: "channel_id", message: "Choose a channel." };
  let scope: Scope;
  if (values.scope === "goal") {
    if (!values.goalId) return { field: "scope.goal_id", message: "Choose a goal." };
    scope = { goal_id: values.goalId, mine: false };
  } else if (values.scope === "unit") {
    if (!values.unitId) return { field: "scope.unit_id", message: "Choose a unit." };
    scope = { unit_id: values.unitId, mine: false };
  } else {
    scope = { mine: true };
  }
  if (values.events.length === 0) return { field: "events", message: "Choose at least one event." };
  return {
    body: {
      channel_id: values.channelId,
      scope,
      events: [...new Set(values.events)],
      min_severity: values.minSeverity,
    },
  };
}

/** A subscription's scope in words, with the goal's or unit's name when it is known. */
export function scopeLabel(
  scope: Scope,
  goals: ReadonlyMap<string, string>,
  units: ReadonlyMap<string, string>,
): string {
  if (scope.goal_id) return `Goal “${goals.get(scope.goal_id) ?? "unknown goal"}”`;
  if (scope.unit_id) return `${units.get(scope.unit_id) ?? "Unknown unit"} and the units below it`;
  return "My goals";
}

/** The body of `POST /v1/digests`; the weekday only matters for a weekly one. */
export function digestBody(values: {
  channelId: string;
  cadence: "daily" | "weekly";
  at: string;
  timezone: string;
  weekday?: number;
}): DigestCreate {
  return {
    channel_id: values.channelId,
    cadence: values.cadence,
    at: values.at,
    timezone: values.timezone,
    weekday: values.cadence === "weekly" ? (values.weekday ?? 0) : 0,
  };
}

/** "Daily at 08:30 (Europe/Berlin)", "Weekly on Friday at 16:00 (UTC)". */
export function digestLabel(digest: Pick<Digest, "cadence" | "at" | "timezone" | "weekday">): string {
  const when =
    digest.cadence === "weekly" ? `Weekly on ${WEEKDAYS[digest.weekday] ?? "Monday"}` : "Daily";
  return `${when} at ${digest.at} (${digest.timezone})`;
}

/**
 * The body of `PUT /v1/me/notification-preferences`. Quiet hours off, or a span that
 * starts where it ends (which the api reads as none), send `quiet_hours: null`.
 */
export function preferencesBody(values: {
  timezone: string;
  quiet: boolean;
  start: string;
  end: string;
}): PreferencesIn {
  const span = values.quiet && values.start !== values.end ? { start: values.start, end: values.end } : null;
  return { timezone: values.timezone, quiet_hours: span };
}

/** "22:00–07:00 (Europe/Berlin), the next morning" or "None". */
export function quietHoursLabel(preferences: Pick<Preferences, "timezone" | "quiet_hours">): string {
  const quiet = preferences.quiet_hours;
  if (!quiet) return "None: every message goes out when it is due.";
  const overnight = quiet.end < quiet.start ? ", over midnight" : "";
  return `${quiet.start}–${quiet.end} (${preferences.timezone})${overnight}: only critical messages go out then; the rest wait until the end.`;
}

/**
 * Time zones for a picker: the browser's list with UTC, and `current` (the saved one, or
 * the browser's own) first so the default is at hand, each once.
 */
export function timeZones(supported: readonly string[], current: string): string[] {
  return [...new Set([current, "UTC", ...supported].filter(Boolean))];
}

/** The channels a person owns, oldest first (the order they were set up in). */
export function ownChannels<T extends { owner: { kind: string; id: string }; created_at: string }>(
  channels: readonly T[],
  personId: string,
): T[] {
  return channels
    .filter((c) => c.owner.kind === "user" && c.owner.id === personId)
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
}

const DELIVERY_KIND: Record<Delivery["kind"], string> = {
  event: "Goal events",
  digest: "Digest",
  reminder: "Check-in reminder",
};

/** One delivery-log row in words: what it was, and where it stands. */
export function deliveryLabel(delivery: Delivery): { what: string; state: string } {
  const what = delivery.subject ?? `${DELIVERY_KIND[delivery.kind]} (not sent yet)`;
  if (delivery.status === "delivered") {
    return { what, state: delivery.attempts > 1 ? `Delivered after ${delivery.attempts} attempts` : "Delivered" };
  }
  if (delivery.status === "failed") {
    return { what, state: `Failed${delivery.last_error ? `: ${delivery.last_error}` : ""}` };
  }
  if (delivery.held_until) return { what, state: "Waiting for quiet hours to end" };
  if (delivery.attempts > 0) {
    return { what, state: `Retrying (${delivery.attempts} attempts${delivery.last_error ? `: ${delivery.last_error}` : ""})` };
  }
  return { what, state: "Waiting to be sent" };
}

type TreeNode = { id: string; title: string; children: TreeNode[] };

/** Goals for a picker, in the tree's cascade order, indented by depth with non-breaking spaces. */
export function goalChoices(nodes: readonly TreeNode[], depth = 0): { id: string; title: string; label: string }[] {
  return nodes.flatMap((node) => [
    { id: node.id, title: node.title, label: `${"\u00a0\u00a0".repeat(depth)}${node.title}` },
    ...goalChoices(node.children, depth + 1),
  ]);
}
