import { describe, expect, it } from "vitest";

import { formatDateTime } from "@/shared/lib/format";

import { ALERT_KINDS, alertFacts } from "./details";

describe("alert details", () => {
  it("filters by every kind the api has", () => {
    expect(ALERT_KINDS.map(([k]) => k)).toEqual(["status", "forecast", "stale_data", "plan", "anomaly", "source"]);
  });

  it("reads an anomaly's observed, expected and band in the KPI's unit", () => {
    expect(
      alertFacts(
        {
          kpi: "revenue",
          observed: 48_000,
          expected: 12_000,
          low: 9_000,
          high: 15_500,
          bucket: "2026-12-06T10:00:00+00:00",
          driver: { dimensions: { region: "APAC" } },
        },
        "EUR",
      ),
    ).toEqual([
      ["Observed", "48K EUR"],
      ["Expected", "12K EUR"],
      ["Band", "9,000 – 15.5K EUR"],
      ["Period", formatDateTime("2026-12-06T10:00:00+00:00")],
      ["Driver", "region APAC"],
    ]);
  });

  it("reads a status alert's status, score, actual and expected", () => {
    expect(alertFacts({ status: "off_track", score: 0.42, actual: 10, expected: 24 })).toEqual([
      ["Status then", "Off track"],
      ["Score", "42 %"],
      ["Actual", "10"],
      ["Expected", "24"],
    ]);
  });
});
