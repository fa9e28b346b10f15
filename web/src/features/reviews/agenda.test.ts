import { describe, expect, it } from "vitest";

import { agenda, previousReview, type SnapshotItem } from "./agenda";

function item(id: string, status: SnapshotItem["status"], extra: Partial<SnapshotItem> = {}): SnapshotItem {
  return {
    goal_id: id,
    parent_id: null,
    title: id,
    status,
    actual: null,
    expected: null,
    target: null,
    score: 1,
    progress: null,
    forecast: null,
    evaluated_at: null,
    ...extra,
  };
}

describe("meeting agenda", () => {
  it("puts off track, missed, at risk, likely missed and overdue check-ins before the rest", () => {
    const order = agenda([
      item("fine", "on_track"),
      item("late", "on_track", { check_in: { overdue: true, due_at: null, last_at: null } }),
      item("risky", "at_risk"),
      item("doomed", "on_track", { forecast: { value: 1, status: "likely_missed" } }),
      item("bad", "off_track"),
      item("done", "achieved"),
    ]).map((a) => [a.item.goal_id, a.why]);
    expect(order).toEqual([
      ["bad", "off track"],
      ["risky", "at risk"],
      ["doomed", "likely missed"],
      ["late", "check-in overdue"],
      ["fine", null],
      ["done", null],
    ]);
  });

  it("finds the previous review of the same scope", () => {
    const reviews = [
      { id: "a", held_at: "2026-11-01T10:00:00Z", scope_goal_id: null },
      { id: "b", held_at: "2026-11-08T10:00:00Z", scope_goal_id: null },
      { id: "c", held_at: "2026-11-10T10:00:00Z", scope_goal_id: "g" },
      { id: "d", held_at: "2026-11-15T10:00:00Z", scope_goal_id: null },
    ];
    expect(previousReview(reviews[3]!, reviews)?.id).toBe("b");
    expect(previousReview(reviews[0]!, reviews)).toBeNull();
  });
});
