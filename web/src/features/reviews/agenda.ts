/**
 * Meeting mode's agenda, pure: the review's snapshot ordered so the goals that need
 * attention come first (off track, missed, at risk, likely missed, overdue check-ins),
 * and the previous review of the same scope, whose open actions are read out first.
 */
import type { Schemas } from "@/shared/api/client";
import { formatChange, STATUS_ORDER } from "@/shared/lib/format";

export type SnapshotItem = Schemas["SnapshotStatus"];

export function needsAttention(item: SnapshotItem): string | null {
  if (item.status === "off_track") return "off track";
  if (item.status === "missed") return "missed";
  if (item.status === "at_risk") return "at risk";
  if (item.forecast?.status === "likely_missed") return "likely missed";
  if (item.check_in?.overdue) return "check-in overdue";
  return null;
}

export function agenda(snapshot: SnapshotItem[]): { item: SnapshotItem; why: string | null }[] {
  const rank = (i: SnapshotItem) => {
    const why = needsAttention(i);
    if (why === "likely missed") return 3.5;
    if (why === "check-in overdue") return 3.7;
    return STATUS_ORDER.indexOf(i.status) + (why ? 0 : 10);
  };
  return [...snapshot]
    .sort((a, b) => rank(a) - rank(b) || (a.score ?? 0) - (b.score ?? 0))
    .map((item) => ({ item, why: needsAttention(item) }));
}

type ReviewLike = { id: string; held_at: string; scope_goal_id: string | null };

/** The latest review of the same scope held before `review`. */
export function previousReview<T extends ReviewLike>(review: ReviewLike, reviews: T[]): T | null {
  return (
    reviews
      .filter(
        (r) =>
          r.id !== review.id &&
          r.scope_goal_id === review.scope_goal_id &&
          Date.parse(r.held_at) < Date.parse(review.held_at),
      )
      .sort((a, b) => Date.parse(b.held_at) - Date.parse(a.held_at))[0] ?? null
  );
}

/**
 * Why the goal needs attention when its status badge does not already say it ("likely
 * missed", "check-in overdue"); null when the badge says it all, so a status appears once.
 */
export function attentionBeyondStatus(item: SnapshotItem): string | null {
  const why = needsAttention(item);
  return why !== null && why === item.status.replace("_", " ") ? null : why;
}

/** "44.6M → 30.0M EUR": a target change in the KPI's unit, old value first. */
export function targetChange(from: number | null | undefined, to: number, unit?: string): string {
  return formatChange(from, to, unit);
}

/** The text a target change is recorded with in the review. */
export function targetChangeText(
  title: string,
  from: number | null | undefined,
  to: number,
  unit: string | undefined,
  reason: string,
): string {
  return `Target of “${title}”: ${targetChange(from, to, unit)} (${reason})`;
}
