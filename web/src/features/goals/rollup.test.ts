import { describe, expect, it } from "vitest";

import { stillOpenReason } from "./alerts";
import { childrenSentence, type ChildRow, pullingDown, pullingSentence, sortChildren } from "./rollup";

const rows: ChildRow[] = [
  { id: "a", title: "Orders", status: "on_track", score: 1.4, weight: 1 },
  { id: "b", title: "APAC revenue", status: "off_track", score: 0.5, weight: 1 },
  { id: "c", title: "EU revenue", status: "at_risk", score: 0.9, weight: 4 },
  { id: "d", title: "Churn", status: "no_data", score: null, weight: 1 },
  { id: "e", title: "Returns", status: "off_track", score: 0.7, weight: 1 },
];

describe("sortChildren", () => {
  it("puts the worst first: off track (lowest score first), at risk, no data, on track", () => {
    expect(sortChildren(rows, "status").map((r) => r.id)).toEqual(["b", "e", "c", "d", "a"]);
    expect(sortChildren(rows, "status", true).map((r) => r.id)).toEqual(["a", "d", "c", "e", "b"]);
  });
  it("sorts by score with unscored goals last, by title and by weight", () => {
    expect(sortChildren(rows, "score").map((r) => r.id)).toEqual(["b", "e", "c", "a", "d"]);
    expect(sortChildren(rows, "title").map((r) => r.title)[0]).toBe("APAC revenue");
    expect(sortChildren(rows, "weight")[0]!.id).toBe("c");
  });
});

describe("childrenSentence", () => {
  it("counts the trouble against all children", () => {
    expect(childrenSentence({ off_track: 4, at_risk: 2, on_track: 9 })).toBe("4 of 15 goals off track, 2 at risk");
    expect(childrenSentence({ at_risk: 1, on_track: 1 })).toBe("1 of 2 goals at risk");
    expect(childrenSentence({ on_track: 2, achieved: 1 })).toBe("All 3 goals on track or achieved");
    expect(childrenSentence({})).toBeNull();
    expect(childrenSentence(null)).toBeNull();
  });
});

describe("pullingDown", () => {
  it("names the children furthest below the cap, by weight", () => {
    // APAC: 1 × 0.5; EU: 4 × 0.1 = 0.4; Returns: 1 × 0.3.
    expect(pullingDown(rows).map((r) => r.title)).toEqual(["APAC revenue", "EU revenue", "Returns"]);
    expect(pullingSentence(pullingDown(rows, 1, 2))).toBe("Pulled down most by APAC revenue and EU revenue.");
    expect(pullingSentence([])).toBeNull();
  });
});

describe("stillOpenReason", () => {
  const goal = (status: string, score: number) => ({
    status: { status, score },
    thresholds: { at_risk: 0.95 },
    alert_clear_margin: 0.02,
  });
  it("explains an open status alert on a goal that is on track again", () => {
    expect(stillOpenReason("status", goal("on_track", 0.96))).toMatch(/reaches 97 % \(now 96 %\)/);
  });
  it("says nothing while the goal is still behind, or for other kinds", () => {
    expect(stillOpenReason("status", goal("at_risk", 0.9))).toBeNull();
    expect(stillOpenReason("forecast", goal("on_track", 0.99))).toBeNull();
  });
});
