import { describe, expect, it } from "vitest";

import { channelUnits, unitChannelRows } from "./channels";

const units = [
  { id: "org", name: "Company", parent_id: null },
  { id: "sales", name: "Sales", parent_id: "org" },
  { id: "eu", name: "Sales EU", parent_id: "sales" },
  { id: "mkt", name: "Marketing", parent_id: "org" },
];

describe("channelUnits", () => {
  it("offers only the units the caller may manage, by name", () => {
    const lead = new Set(["sales", "eu"]);
    expect(channelUnits(units, (id) => lead.has(id)).map((u) => u.name)).toEqual(["Sales", "Sales EU"]);
    expect(channelUnits(units, () => false)).toEqual([]);
  });
});

describe("unitChannelRows", () => {
  it("lists unit channels with their unit, leaving people's channels out", () => {
    const channels = [
      { id: "c1", name: "Alerts", kind: "slack", owner: { kind: "unit", id: "sales" } },
      { id: "c2", name: "Mine", kind: "email", owner: { kind: "user", id: "p1" } },
      { id: "c3", name: "Digest", kind: "email", owner: { kind: "unit", id: "mkt" } },
      { id: "c4", name: "Gone", kind: "email", owner: { kind: "unit", id: "deleted" } },
    ];
    expect(unitChannelRows(channels, units).map((c) => [c.name, c.unitName])).toEqual([
      ["Digest", "Marketing"],
      ["Alerts", "Sales"],
      ["Gone", "Unknown unit"],
    ]);
  });
});
