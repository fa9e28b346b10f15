import { describe, expect, it } from "vitest";

import { type PackChartInput, packChartPaths } from "./packChart";

const status = (time: string, actual: number | null, expected: number | null) => ({
  type: "status" as const,
  time,
  actual,
  expected,
  score: null,
  status: "on_track" as const,
});

const goal = (extra: Partial<PackChartInput>): PackChartInput => ({
  history: [],
  start: "2026-01-01T00:00:00Z",
  due: "2026-01-03T00:00:00Z",
  baseline: 0,
  target: 20,
  actual: null,
  at: null,
  ...extra,
});

describe("the pack's goal chart", () => {
  it("draws actual against the pace from baseline at start to target at due", () => {
    const paths = packChartPaths(
      goal({ history: [status("2026-01-01T00:00:00Z", 0, 0)], actual: 5, at: "2026-01-02T00:00:00Z" }),
      104,
      44,
    );
    expect(paths).toEqual({
      actual: "M2,42 L52,32",
      last: [52, 32],
      expected: "M2,42 L102,2",
      target: "M2,2 L102,2",
    });
  });

  it("puts a single value as a dot, and has nothing to draw without dates or values", () => {
    expect(packChartPaths(goal({ actual: 10, at: "2026-01-02T00:00:00Z" }), 104, 44)?.last).toEqual([52, 22]);
    expect(packChartPaths(goal({ start: null, target: null }), 104, 44)).toBeNull();
  });
});
