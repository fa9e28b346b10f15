/**
 * A goal revision's changes in words, pure: each field old → new, quantities (target,
 * baseline) in the KPI's unit on one scale ("target 44.6M → 30.0M EUR"), days as days,
 * thresholds as shares.
 */
import { formatChange, formatDate, formatPercent } from "@/shared/lib/format";

const QUANTITIES = new Set(["target", "baseline"]);
const LABEL: Record<string, string> = { due: "due", start: "start", owner_id: "owner", unit_id: "unit", kpi_key: "KPI" };

function side(value: unknown): string {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return formatDate(value);
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k.replace(/_/g, " ")} ${typeof v === "number" ? formatPercent(v) : String(v)}`)
      .join(", ");
  }
  return String(value);
}

export function revisionChanges(changes: Record<string, Record<string, unknown>>, unit?: string): string[] {
  return Object.entries(changes).map(([field, change]) => {
    const label = LABEL[field] ?? field.replace(/_/g, " ");
    const before = change["old"];
    const after = change["new"];
    if (QUANTITIES.has(field) && (typeof before === "number" || typeof after === "number"))
      return `${label} ${formatChange(before, after, unit)}`;
    return `${label} ${side(before)} → ${side(after)}`;
  });
}

/**
 * A check-in in words: "Ana checked in (confidence 6/10): on track · blockers: hiring".
 * The comment and blockers are optional in a check-in, so each is said only when given.
 */
export function checkInText(checkIn: { author: string; confidence: number; comment: string; blockers?: string | null }): string {
  const comment = checkIn.comment.trim();
  const blockers = checkIn.blockers?.trim();
  return (
    `${checkIn.author} checked in (confidence ${checkIn.confidence}/10)` +
    (comment ? `: ${comment}` : "") +
    (blockers ? ` · blockers: ${blockers}` : "")
  );
}
