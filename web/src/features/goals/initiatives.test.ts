import { describe, expect, it } from "vitest";

import { endOfDayUtc, withMilestoneAdded, withMilestoneDone } from "./initiatives";

const milestones = [
  { id: "m1", title: "Hire", due: "2026-12-01T00:00:00Z", done_at: "2026-11-20T10:00:00Z" },
  { id: "m2", title: "Launch", due: null, done_at: null },
];

describe("milestone edits", () => {
  it("marks one milestone done and keeps the others by id (so their done_at stays)", () => {
    expect(withMilestoneDone(milestones, "m2", true)).toEqual([
      { id: "m1", title: "Hire", due: "2026-12-01T00:00:00Z" },
      { id: "m2", title: "Launch", due: null, done: true },
    ]);
  });

  it("can mark a done milestone not done", () => {
    expect(withMilestoneDone(milestones, "m1", false)[0]).toEqual({
      id: "m1",
      title: "Hire",
      due: "2026-12-01T00:00:00Z",
      done: false,
    });
  });

  it("appends a new milestone without an id", () => {
    const out = withMilestoneAdded(milestones, { title: "Review", due: endOfDayUtc("2026-12-24") });
    expect(out.map((m) => m.id ?? null)).toEqual(["m1", "m2", null]);
    expect(out[2]).toEqual({ title: "Review", due: "2026-12-24T23:59:59Z" });
  });

  it("turns an empty date into no date", () => {
    expect(endOfDayUtc("")).toBeNull();
  });
});
