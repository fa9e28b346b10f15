import { describe, expect, it } from "vitest";

import { driversHeadline, unreferencedNote } from "./drivers";

const base = { compare: "expected" as const, method: "additive" as const, dimension: "channel" };
const item = (value: string, contribution: number, share: number | null, reference: number | null = 1) => ({
  value,
  actual: 1,
  reference,
  contribution,
  share_of_gap: share,
});

describe("drivers in words", () => {
  it("says how far behind and that one value accounts for all of it", () => {
    const d = { ...base, gap: -7_200_000, items: [item("web", -7_200_000, 1), item("shop", 0, 0)] };
    expect(driversHeadline(d, "EUR", "reach")).toBe("7.2M EUR behind the expected pace; web accounts for all of it.");
  });

  it("never says a share above 100 % without the offsetting values", () => {
    const d = { ...base, gap: -100, items: [item("web", -130, 1.3), item("shop", 30, -0.3)] };
    const text = driversHeadline(d, "EUR", "reach");
    expect(text).toContain("more than all of it (130 %)");
    expect(text).toContain("moved the other way and made up 30 %");
  });

  it("reads a cost goal's overrun as above, not a double negative", () => {
    const d = { ...base, compare: "previous" as const, gap: 5_000, items: [item("eu", 2_500, 0.5)] };
    expect(driversHeadline(d, "EUR", "stay_below")).toBe("5,000 EUR above the previous period; eu accounts for 50 % of it.");
  });

  it("names events without the dimension and spreads a small share", () => {
    const d = { ...base, gap: -10, items: [item("", -3, 0.3)] };
    expect(driversHeadline(d, undefined, "reach")).toBe(
      "10 behind the expected pace; events without channel accounts for the largest part (30 %), the rest is spread over other values of channel.",
    );
  });

  it("explains values with no reference", () => {
    const d = { ...base, gap: -10, items: [item("web", -12, 1.2), item("app", 2, -0.2, null)] };
    expect(unreferencedNote(d, "EUR")).toBe(
      "app had nothing to compare with (no events in the reference), so its whole value counts as contribution (2 EUR).",
    );
    expect(unreferencedNote({ ...d, items: [item("web", -10, 1)] }, "EUR")).toBeNull();
  });
});
