/**
 * What the signed-in actor may do, so the app offers only what the api will accept.
 * The api decides (northstar/auth/policy.py, docs/people.md) and refuses with 403; this
 * reads its answer from `/v1/me` to hide controls, never to grant anything:
 * `permissions` lists the actions the actor may take somewhere, and for a `member` the
 * unit-scoped ones apply only in the subtrees of their memberships (or to goals they own).
 */
import type { Schemas } from "@/shared/api/client";

/** The policy's actions (`Action` in northstar/auth/policy.py). */
export type Action =
  | "read"
  | "goals:write"
  | "goals:contribute"
  | "org:write"
  | "members:manage"
  | "keys:own"
  | "notifications:own"
  | "notifications:read"
  | "notifications:manage"
  | "people:manage"
  | "keys:manage"
  | "webhooks:manage"
  | "audit:read"
  | "sources:manage";

const UNIT_SCOPED: ReadonlySet<Action> = new Set<Action>([
  "goals:write",
  "goals:contribute",
  "members:manage",
]);

type Me = Schemas["Me"];

export type Actor = Me & {
  /** False when the api has no /v1/me: offer everything, the api still refuses. */
  known?: boolean;
};

/** Where a resource sits: its unit and every ancestor unit, and its owner. */
export type Resource = { units?: string[]; ownerId?: string | null };

/**
 * May `actor` do `action` on `resource`? Without a resource, unit-scoped actions answer
 * "somewhere" (used to decide whether to show a page's controls at all).
 */
export function can(actor: Actor | null, action: Action, resource?: Resource): boolean {
  if (!actor) return false;
  if (actor.known === false) return true;
  if (!actor.permissions.includes(action)) return false;
  if (!resource || !UNIT_SCOPED.has(action) || actor.role !== "member") return true;
  const units = new Set(resource.units ?? []);
  const roles = new Set(actor.memberships.filter((m) => units.has(m.unit_id)).map((m) => m.role));
  if (roles.has("lead")) return true;
  if (action !== "goals:contribute") return false;
  return roles.has("member") || (Boolean(resource.ownerId) && resource.ownerId === actor.id);
}

/** A unit and its ancestors, from the unit list (the policy's `Resource.units`). */
export function unitAndAncestors(
  unitId: string | null | undefined,
  units: { id: string; parent_id: string | null }[],
): string[] {
  const parents = new Map(units.map((u) => [u.id, u.parent_id]));
  const chain: string[] = [];
  let current = unitId ?? null;
  while (current && !chain.includes(current)) {
    chain.push(current);
    current = parents.get(current) ?? null;
  }
  return chain;
}

/** The units where `actor` may do a unit-scoped `action` (every unit for editors and
 * admins; for a member, the units at or below those they lead). */
export function unitsAllowed<U extends { id: string; parent_id: string | null }>(
  actor: Actor | null,
  action: Action,
  units: U[],
): U[] {
  return units.filter((u) => can(actor, action, { units: unitAndAncestors(u.id, units) }));
}
