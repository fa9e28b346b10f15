/**
 * Pure helpers of the goal page's initiatives panel. `PATCH /v1/initiatives/{id}`
 * replaces the whole milestone list, keeping a milestone (and its `done_at`) only when
 * its `id` is sent, so every edit sends every milestone back by id.
 */
import type { Schemas } from "@/shared/api/client";

type MilestoneOut = Schemas["MilestoneOut"];
type MilestoneIn = Schemas["MilestoneIn"];

/** A date picker's `YYYY-MM-DD` as the end of that day in UTC (dates are shown in UTC). */
export function endOfDayUtc(day: string): string | null {
  return day ? `${day}T23:59:59Z` : null;
}

function keep(m: MilestoneOut): MilestoneIn {
  return { id: m.id, title: m.title, due: m.due };
}

/** The list with milestone `id` marked done (now, by the api) or not done. */
export function withMilestoneDone(milestones: readonly MilestoneOut[], id: string, done: boolean): MilestoneIn[] {
  return milestones.map((m) => (m.id === id ? { ...keep(m), done } : keep(m)));
}

/** The list with a new milestone appended. */
export function withMilestoneAdded(
  milestones: readonly MilestoneOut[],
  added: { title: string; due: string | null },
): MilestoneIn[] {
  return [...milestones.map(keep), { title: added.title, due: added.due }];
}

/** The `YYYY-MM-DD` (UTC) a date picker shows for a due time; empty for none. */
export function dayOf(due: string | null): string {
  return due ? new Date(due).toISOString().slice(0, 10) : "";
}

/**
 * The list with milestone `id` renamed and given the due day `day` (`YYYY-MM-DD`, empty
 * for none). A day the same as before keeps the milestone's due time as it was, so an
 * edit of the title alone does not move it to the end of the day. It keeps its id, so
 * the api keeps its `done_at`.
 */
export function withMilestoneEdited(
  milestones: readonly MilestoneOut[],
  id: string,
  edited: { title: string; day: string },
): MilestoneIn[] {
  return milestones.map((m) =>
    m.id === id
      ? { id: m.id, title: edited.title, due: edited.day === dayOf(m.due) ? m.due : endOfDayUtc(edited.day) }
      : keep(m),
  );
}

/** The list without milestone `id`: the api drops a milestone whose id is not sent. */
export function withMilestoneRemoved(milestones: readonly MilestoneOut[], id: string): MilestoneIn[] {
  return milestones.filter((m) => m.id !== id).map(keep);
}
