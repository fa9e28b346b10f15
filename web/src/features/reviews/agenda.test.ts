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

describe("target changes and statuses said once", () => {
  it("reads old → new in the KPI's unit", async () => {
    const { targetChange, targetChangeText } = await import("./agenda");
    expect(targetChange(44_600_000, 30_000_000, "EUR")).toBe("44.6M → 30.0M EUR");
    expect(targetChange(null, 12, "%")).toBe("– → 12 %");
    expect(targetChangeText("EU revenue", 44_600_000, 30_000_000, "EUR", "slipped")).toBe(
      "Target of “EU revenue”: 44.6M → 30.0M EUR (slipped)",
    );
  });

  it("gives a reason beyond the status only when the badge does not say it", async () => {
    const { attentionBeyondStatus } = await import("./agenda");
    expect(attentionBeyondStatus(item("bad", "off_track"))).toBeNull();
    expect(attentionBeyondStatus(item("risky", "at_risk"))).toBeNull();
    expect(
      attentionBeyondStatus(item("doomed", "on_track", { forecast: { value: 1, status: "likely_missed" } })),
    ).toBe("likely missed");
  });
});
