import { describe, expect, it } from "vitest";

import { checkInText, revisionChanges } from "./history";

describe("revision changes", () => {
  it("reads each field old → new, quantities in the KPI's unit", () => {
    expect(
      revisionChanges(
        {
          target: { old: 44_600_000, new: 30_000_000 },
          due: { old: "2026-12-31T23:59:00+00:00", new: "2027-01-31T23:59:00+00:00" },
          thresholds: { old: { at_risk: 0.9, off_track: 0.7 }, new: { at_risk: 0.85, off_track: 0.7 } },
        },
        "EUR",
      ),
    ).toEqual([
      "target 44.6M → 30.0M EUR",
      "due 31 Dec 2026 → 31 Jan 2027",
      "thresholds at risk 90 %, off track 70 % → at risk 85 %, off track 70 %",
    ]);
  });
});

describe("check-in in words", () => {
  it("says the comment and blockers only when given", () => {
    expect(checkInText({ author: "Ana", confidence: 6, comment: "", blockers: "" })).toBe("Ana checked in (confidence 6/10)");
    expect(checkInText({ author: "Ana", confidence: 6, comment: "  ", blockers: null })).toBe("Ana checked in (confidence 6/10)");
    expect(checkInText({ author: "Ana", confidence: 8, comment: "on track", blockers: "hiring" })).toBe(
      "Ana checked in (confidence 8/10): on track · blockers: hiring",
    );
    expect(checkInText({ author: "Ana", confidence: 3, comment: "", blockers: "hiring" })).toBe(
      "Ana checked in (confidence 3/10) · blockers: hiring",
    );
  });
});
