import { describe, expect, it } from "vitest";

import type { Actor } from "@/shared/auth/permissions";

import { creatableUnits, goalBody, type GoalDraft, kpiBody, mayCreateWithoutUnit } from "./draft";

const UNITS = [
  { id: "org", name: "Acme", parent_id: null },
  { id: "sales", name: "Sales", parent_id: "org" },
  { id: "eu", name: "Sales EU", parent_id: "sales" },
  { id: "ops", name: "Operations", parent_id: "org" },
];

function actor(role: Actor["role"], memberships: Actor["memberships"] = []): Actor {
  return {
    kind: "user",
    id: "me",
    name: "Me",
    role,
    permissions: role === "viewer" ? ["read"] : ["read", "goals:write", "goals:contribute"],
    memberships,
  } as Actor;
}

const EMPTY: GoalDraft = {
  title: "",
  description: "",
  unitId: "",
  parentId: "",
  ownerId: "",
  kpi: "",
  type: "",
  baseline: "",
  target: "",
  pacing: "",
  atRisk: "",
  offTrack: "",
  cycleId: "",
  start: "",
  due: "",
  weight: "",
  perspective: "",
};

describe("creatableUnits", () => {
  it("gives a lead their unit and the units below it, and nothing organisation-wide", () => {
    const lead = actor("member", [{ unit_id: "sales", role: "lead" }] as Actor["memberships"]);
    expect(creatableUnits(lead, UNITS).map((u) => u.id)).toEqual(["sales", "eu"]);
    expect(mayCreateWithoutUnit(lead)).toBe(false);
  });
  it("gives a plain member and a viewer nothing, an editor everything", () => {
    const member = actor("member", [{ unit_id: "sales", role: "member" }] as Actor["memberships"]);
    expect(creatableUnits(member, UNITS)).toEqual([]);
    expect(creatableUnits(actor("viewer"), UNITS)).toEqual([]);
    expect(creatableUnits(actor("editor"), UNITS)).toHaveLength(4);
    expect(mayCreateWithoutUnit(actor("editor"))).toBe(true);
  });
});

describe("goalBody", () => {
  it("leaves out what was not given, so the api's defaults apply", () => {
    expect(goalBody({ ...EMPTY, title: "  Grow  " })).toEqual({ title: "Grow" });
  });
  it("sends thresholds as shares, dates as whole UTC days and numbers as numbers", () => {
    const body = goalBody({
      ...EMPTY,
      title: "Revenue",
      unitId: "sales",
      parentId: "p",
      kpi: "revenue",
      baseline: "0",
      target: "1000000",
      atRisk: "90",
      offTrack: "80",
      start: "2027-01-01",
      due: "2027-03-31",
      weight: "2",
      perspective: "financial",
    });
    expect(body).toMatchObject({
      unit_id: "sales",
      parent_id: "p",
      kpi: "revenue",
      baseline: 0,
      target: 1_000_000,
      thresholds: { at_risk: 0.9, off_track: 0.8 },
      start: "2027-01-01T00:00:00Z",
      due: "2027-03-31T23:59:59Z",
      weight: 2,
      perspective: "financial",
    });
  });
});

describe("kpiBody", () => {
  it("places a KPI defined on the spot in the goal's unit", () => {
    expect(
      kpiBody({ key: " calls ", name: "Calls", unit: "count", expression: "count(call)", kind: "" }, "sales"),
    ).toMatchObject({ key: "calls", unit_id: "sales", kind: "lagging", expression: "count(call)" });
  });
});
