import { describe, expect, it } from "vitest";

import { explainStatus, formatNumber, formatPercent } from "./format";

const status = {
  goal_id: "g",
  status: "at_risk" as const,
  actual: 820,
  expected: 1000,
  target: 2000,
  score: 0.82,
  progress: 0.41,
  forecast: { value: 1700, status: "likely_missed" as const },
  evaluated_at: null,
};

describe("explainStatus", () => {
  it("says the pace, the days of data and the forecast in words", () => {
    const text = explainStatus(
      { start: "2026-11-01T00:00:00Z", due: "2026-12-01T00:00:00Z", type: "reach", kpi: "revenue", status },
      new Date("2026-11-04T12:00:00Z"),
    );
    expect(text).toBe(
      "82 % of the expected pace after 3 days of the period; actual 820 against 1,000 expected by now; forecast: likely missed (1,700 at due).",
    );
  });

  it("explains no data, not started and roll-ups", () => {
    expect(explainStatus({ start: null, due: null, type: "reach", kpi: "x", status: { ...status, status: "no_data" } })).toMatch(/No data/);
    expect(
      explainStatus({ start: "2030-01-01T00:00:00Z", due: null, type: "reach", kpi: "x", status: { ...status, status: "not_started" } }),
    ).toMatch(/has not started/);
    expect(
      explainStatus({ start: null, due: null, type: "reach", kpi: null, status: { ...status, actual: null, expected: null, forecast: null } }),
    ).toBe("Its goals score 82 % on average.");
  });
});

describe("numbers", () => {
  it("formats large values compactly with their unit", () => {
    expect(formatNumber(1_234_567, "EUR")).toBe("1.2M EUR");
    expect(formatNumber(12.345, "%")).toBe("12.35 %");
    expect(formatNumber(null)).toBe("–");
    expect(formatPercent(0.826)).toBe("83 %");
  });
});

describe("formatChange", () => {
  it("says old → new on one scale with the unit once", async () => {
    const { formatChange } = await import("./format");
    expect(formatChange(44_600_000, 30_000_000, "EUR")).toBe("44.6M → 30.0M EUR");
    expect(formatChange(12, 15.5, "%")).toBe("12.0 → 15.5 %");
    expect(formatChange(null, 3)).toBe("– → 3");
    expect(formatChange("2026-01-01", "2026-02-01")).toBe("2026-01-01 → 2026-02-01");
  });
});

describe("dates", () => {
  it("shows an instant in the person's time zone, named", async () => {
    const { formatDateTime, formatDate } = await import("./format");
    expect(formatDateTime("2026-12-06T10:00:00Z", "UTC")).toBe("6 Dec 2026, 10:00 UTC");
    expect(formatDateTime("2026-12-06T10:00:00Z", "Europe/Berlin")).toBe("6 Dec 2026, 11:00 CET");
    expect(formatDate("2026-12-10T23:59:59Z")).toBe("10 Dec 2026");
    expect(formatDateTime(null)).toBe("–");
  });
});
