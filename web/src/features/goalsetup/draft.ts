/**
 * The pure parts of setting up a goal: which units a person may create goals (and KPIs)
 * in, and the request bodies the new-goal form sends (`POST /v1/kpis`, `POST /v1/goals`).
 */
import type { Schemas } from "@/shared/api/client";
import { type Actor, can, unitsAllowed } from "@/shared/auth/permissions";

type UnitLike = { id: string; name: string; parent_id: string | null };

/** The units where `actor` may create goals: every unit for editors and admins, a lead's
 * units and the units below them for a member (the policy's `goals:write`). */
export function creatableUnits<U extends UnitLike>(actor: Actor | null, units: U[]): U[] {
  return unitsAllowed(actor, "goals:write", units);
}

/** May `actor` create a goal with no unit (an organisation-wide goal)? */
export function mayCreateWithoutUnit(actor: Actor | null): boolean {
  return can(actor, "goals:write", { units: [] });
}

export type GoalDraft = {
  title: string;
  description: string;
  unitId: string;
  parentId: string;
  ownerId: string;
  kpi: string;
  type: string;
  baseline: string;
  target: string;
  pacing: string;
  atRisk: string;
  offTrack: string;
  cycleId: string;
  start: string;
  due: string;
  weight: string;
  perspective: string;
};

export type KpiDraft = { key: string; name: string; unit: string; expression: string; kind: string };

/** A date field (`YYYY-MM-DD`) as the start (00:00 UTC) or end (23:59:59 UTC) of that day. */
function dayBoundary(day: string, end: boolean): string | null {
  if (!day) return null;
  return end ? `${day}T23:59:59Z` : `${day}T00:00:00Z`;
}

function numberOr(value: string, fallback: number | null): number | null {
  const trimmed = value.trim();
  if (trimmed === "") return fallback;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : fallback;
}

/** The `POST /v1/goals` body. Thresholds are typed as percentages (95 → 0.95); empty fields
 * are left out so the api's defaults apply; a cycle's dates apply when none are given. */
export function goalBody(draft: GoalDraft): Schemas["GoalCreate"] {
  // The generated type lists every field the api defaults as required; the api fills in
  // what is left out, so the body carries only what the person gave.
  const body: Partial<Schemas["GoalCreate"]> & { title: string } = { title: draft.title.trim() };
  if (draft.description.trim()) body.description = draft.description.trim();
  if (draft.unitId) body.unit_id = draft.unitId;
  if (draft.parentId) body.parent_id = draft.parentId;
  if (draft.ownerId) body.owner_id = draft.ownerId;
  if (draft.kpi) body.kpi = draft.kpi;
  if (draft.type) body.type = draft.type as Schemas["GoalType"];
  const baseline = numberOr(draft.baseline, null);
  if (baseline !== null) body.baseline = baseline;
  const target = numberOr(draft.target, null);
  if (target !== null) body.target = target;
  if (draft.pacing) body.pacing = draft.pacing as Schemas["Pacing"];
  const atRisk = numberOr(draft.atRisk, null);
  const offTrack = numberOr(draft.offTrack, null);
  if (atRisk !== null || offTrack !== null) {
    body.thresholds = {
      at_risk: atRisk === null ? null : atRisk / 100,
      off_track: offTrack === null ? null : offTrack / 100,
    };
  }
  if (draft.cycleId) body.cycle_id = draft.cycleId;
  const start = dayBoundary(draft.start, false);
  if (start) body.start = start;
  const due = dayBoundary(draft.due, true);
  if (due) body.due = due;
  const weight = numberOr(draft.weight, null);
  if (weight !== null) body.weight = weight;
  if (draft.perspective) body.perspective = draft.perspective;
  return body as Schemas["GoalCreate"];
}

/** The `POST /v1/kpis` body of a KPI defined on the spot, in the goal's unit. */
export function kpiBody(draft: KpiDraft, unitId: string): Schemas["KpiCreate"] {
  return {
    key: draft.key.trim(),
    name: draft.name.trim(),
    unit: draft.unit.trim(),
    expression: draft.expression.trim(),
    description: "",
    kind: (draft.kind || "lagging") as Schemas["KpiKind"],
    source: "events",
    unit_id: unitId || null,
  };
}
