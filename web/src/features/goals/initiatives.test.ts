import { describe, expect, it } from "vitest";

import {
  dayOf,
  endOfDayUtc,
  withMilestoneAdded,
  withMilestoneDone,
  withMilestoneEdited,
  withMilestoneRemoved,
} from "./initiatives";

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

  it("renames a milestone and keeps every id, sending no done flag (so each done_at stays)", () => {
    expect(withMilestoneEdited(milestones, "m1", { title: "Hire two", day: "2026-12-01" })).toEqual([
      { id: "m1", title: "Hire two", due: "2026-12-01T00:00:00Z" },
      { id: "m2", title: "Launch", due: null },
    ]);
  });

  it("moves a milestone's due to the end of the new day, or clears it", () => {
    expect(withMilestoneEdited(milestones, "m2", { title: "Launch", day: "2027-01-15" })[1]).toEqual({
      id: "m2",
      title: "Launch",
      due: "2027-01-15T23:59:59Z",
    });
    expect(withMilestoneEdited(milestones, "m1", { title: "Hire", day: "" })[0]).toEqual({
      id: "m1",
      title: "Hire",
      due: null,
    });
  });

  it("deletes one milestone and keeps the others by id", () => {
    expect(withMilestoneRemoved(milestones, "m1")).toEqual([{ id: "m2", title: "Launch", due: null }]);
    expect(withMilestoneRemoved(milestones, "m2").map((m) => m.id)).toEqual(["m1"]);
  });

  it("shows a due time as its UTC day", () => {
    expect(dayOf("2026-12-01T23:59:59+00:00")).toBe("2026-12-01");
    expect(dayOf("2026-12-02T01:00:00+02:00")).toBe("2026-12-01");
    expect(dayOf(null)).toBe("");
  });
});
