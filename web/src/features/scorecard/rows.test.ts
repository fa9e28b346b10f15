import { describe, expect, it } from "vitest";

import { filterRows, flatten, type GoalNode, groupRows, NO_FILTERS, subtreeOf } from "./rows";

function goal(id: string, fields: Partial<GoalNode> = {}, children: GoalNode[] = []): GoalNode {
  return {
    id,
    title: `Goal ${id}`,
    description: "",
    owner: null,
    unit_id: null,
    parent_id: null,
    kpi: "revenue",
    status: { goal_id: id, status: "on_track", actual: 1, expected: 1, target: 2, score: 1, progress: 0.5, forecast: null, evaluated_at: null },
    children,
    ...fields,
  } as GoalNode;
}

const tree = [
  goal("top", { kpi: null, unit_id: "org" }, [
    goal("sales", { unit_id: "sales", owner: "Head of Sales", perspective: "financial" }, [
      goal("eu", { unit_id: "sales-eu", status: { ...goal("x").status, status: "at_risk" } }),
    ]),
    goal("support", { unit_id: "support", perspective: "customer", title: "Happy customers" }),
  ]),
];
const units = [
  { id: "org", parent_id: null },
  { id: "sales", parent_id: "org" },
  { id: "sales-eu", parent_id: "sales" },
  { id: "support", parent_id: "org" },
];

describe("scorecard rows", () => {
  it("flattens the cascade in order with depth and path", () => {
    const rows = flatten(tree);
    expect(rows.map((r) => [r.goal.id, r.depth])).toEqual([
      ["top", 0],
      ["sales", 1],
      ["eu", 2],
      ["support", 1],
    ]);
    expect(rows[2]!.path).toEqual(["Goal top", "Goal sales"]);
  });

  it("filters by status, by a unit with its sub-units, by owner and by search", () => {
    const rows = flatten(tree);
    const ids = (f: Partial<typeof NO_FILTERS>, scope = new Set<string>()) =>
      filterRows(rows, { ...NO_FILTERS, ...f }, scope).map((r) => r.goal.id);
    expect(ids({ status: "at_risk" })).toEqual(["eu"]);
    expect(ids({ unit: "sales" }, subtreeOf("sales", units))).toEqual(["sales", "eu"]);
    expect(ids({ owner: "Head of Sales" })).toEqual(["sales"]);
    expect(ids({ search: "HAPPY" })).toEqual(["support"]);
    expect(ids({ perspective: "customer" })).toEqual(["support"]);
    expect(ids({})).toHaveLength(4);
  });

  it("groups by unit and by perspective, keeping cascade order", () => {
    const rows = flatten(tree);
    const byPerspective = groupRows(rows, "perspective", (id) => id);
    expect(byPerspective.map((g) => [g.title, g.rows.length])).toEqual([
      ["No perspective", 2],
      ["Financial", 1],
      ["Customer", 1],
    ]);
    const byUnit = groupRows(rows, "unit", (id) => `Unit ${id}`);
    expect(byUnit.map((g) => g.title)).toEqual(["Unit org", "Unit sales", "Unit sales-eu", "Unit support"]);
  });
});

describe("owners", () => {
  it("names the person owner_id points at, else the free-text owner", async () => {
    const { ownerOf } = await import("./rows");
    const names = new Map([["u1", "Sam Seller"]]);
    expect(ownerOf(goal("a", { owner_id: "u1", owner: null }), names)).toBe("Sam Seller");
    expect(ownerOf(goal("b", { owner_id: null, owner: "COO" }), names)).toBe("COO");
    expect(ownerOf(goal("c", { owner_id: "u9", owner: null }), names)).toBeNull();
  });
});
