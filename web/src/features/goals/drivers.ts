/**
 * The drivers panel in plain words (issue 24): how far the goal is from its reference, in
 * the KPI's unit and in the direction that matters for the goal, and which value accounts
 * for it — never a double negative, and a share above 100 % only with its reason (other
 * values offset part of the gap). Pure, so vitest holds the wording.
 */
import type { Schemas } from "@/shared/api/client";
import { formatNumber, formatPercent } from "@/shared/lib/format";

type Drivers = Pick<Schemas["DriversOut"], "gap" | "compare" | "method" | "dimension" | "items">;
type GoalType = Schemas["GoalOut"]["type"];

/** Shares this close to 100 % are "all of it" (rounding of contributions). */
const WHOLE = 0.005;

/** A dimension value as people read it: the empty value is the events without it. */
export function valueName(value: string, dimension: string): string {
  return value === "" ? `events without ${dimension}` : value;
}

function position(gap: number, type: GoalType | null | undefined): string {
  if (type === "stay_below") return gap > 0 ? "above" : "below";
  return gap < 0 ? "behind" : "ahead of";
}

/** "7.2M EUR behind the expected pace; web accounts for all of it." */
export function driversHeadline(d: Drivers, unit: string | undefined, type?: GoalType | null): string {
  const reference = d.compare === "expected" ? "the expected pace" : "the previous period";
  if (d.gap === 0) return `Exactly on ${reference}.`;
  const head = `${formatNumber(Math.abs(d.gap), unit)} ${position(d.gap, type)} ${reference}`;
  const top = d.items[0];
  if (!top) return `${head}.`;
  const name = valueName(top.value, d.dimension);
  const share = top.share_of_gap;
  if (d.method === "group_difference" || share === null) {
    return `${head}; ${name} (${d.dimension}) differs most from its reference.`;
  }
  if (Math.abs(share - 1) <= WHOLE) return `${head}; ${name} accounts for all of it.`;
  if (share > 1) {
    return (
      `${head}; ${name} accounts for more than all of it (${formatPercent(share)}): ` +
      `other values of ${d.dimension} moved the other way and made up ${formatPercent(share - 1)}.`
    );
  }
  if (share <= 0) return `${head}; no single value of ${d.dimension} accounts for it.`;
  if (share >= 0.5) return `${head}; ${name} accounts for ${formatPercent(share)} of it.`;
  return `${head}; ${name} accounts for the largest part (${formatPercent(share)}), the rest is spread over other values of ${d.dimension}.`;
}

/** What the table says of values that had no reference (no events in the previous period). */
export function unreferencedNote(d: Drivers, unit: string | undefined): string | null {
  const without = d.items.filter((i) => i.reference === null);
  if (without.length === 0) return null;
  const names = without.map((i) => valueName(i.value, d.dimension)).join(", ");
  return (
    `${names} had nothing to compare with (no events in the reference), so ` +
    `${without.length === 1 ? "its" : "their"} whole value counts as contribution` +
    ` (${formatNumber(without.reduce((sum, i) => sum + i.contribution, 0), unit)}).`
  );
}
