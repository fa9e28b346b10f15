/**
 * What the signed-in actor may do, so the app offers only what the api will accept
 * (SPEC §11). The api decides in the end (its policy module refuses with 403); this is
 * the same table, read from `/v1/me`, to hide controls, never to grant anything.
 */
import type { Me } from "@/shared/api/planned";

export type Action =
  | "goal.edit" // create, edit, delete goals; change targets
  | "goal.check_in" // post check-ins, update initiatives, acknowledge alerts
  | "review.write" // reviews and their decisions
  | "kpi.write"
  | "unit.write"
  | "people.manage"
  | "keys.manage"
  | "integrations.manage"; // webhooks and channels

const EDITOR: ReadonlySet<Action> = new Set<Action>([
  "goal.edit",
  "goal.check_in",
  "review.write",
  "kpi.write",
  "unit.write",
  "integrations.manage",
]);

export type Actor = Me & {
  /** False when the api has no /v1/me yet: offer everything, the api still refuses. */
  known?: boolean;
};

/**
 * May `actor` do `action` on a resource in unit `units[0]` (`units`: that unit and its
 * ancestors, since a lead's rights cover the unit's subtree), owned by `ownerId`?
 */
export function can(
  actor: Actor | null,
  action: Action,
  resource: { units?: string[]; ownerId?: string | null } = {},
): boolean {
  if (!actor) return false;
  if (actor.known === false) return true;
  const scopes = new Set(actor.scopes);
  if (actor.kind === "key" && actor.role === null) {
    if (scopes.has("admin")) return true;
    return scopes.has("write") && EDITOR.has(action);
  }
  // A personal key narrows its user's role by its scopes.
  if (actor.kind === "key" && !scopes.has("admin")) {
    if (action === "people.manage" || action === "keys.manage") return false;
    if (!scopes.has("write")) return false;
  }
  switch (actor.role) {
    case "admin":
      return true;
    case "editor":
      return EDITOR.has(action);
    case "member": {
      const units = resource.units ?? [];
      const mine = actor.memberships.filter((m) => units.includes(m.unit_id));
      const owns = Boolean(resource.ownerId) && resource.ownerId === actor.id;
      if (action === "goal.edit" || action === "unit.write")
        return mine.some((m) => m.role === "lead");
      if (action === "goal.check_in") return mine.length > 0 || owns;
      return false;
    }
    default:
      return false;
  }
}
