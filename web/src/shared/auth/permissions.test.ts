import { describe, expect, it } from "vitest";

import { type Actor, can, unitAndAncestors } from "./permissions";

const base: Actor = {
  kind: "user",
  id: "u1",
  name: "Someone",
  email: "someone@example.com",
  role: "member",
  scopes: ["write"],
  memberships: [],
  permissions: ["read", "keys:own"],
  known: true,
};

describe("can", () => {
  it("offers nothing the api's permissions leave out (a viewer)", () => {
    const viewer = { ...base, role: "viewer" as const, permissions: ["read", "keys:own"] };
    expect(can(viewer, "goals:write")).toBe(false);
    expect(can(viewer, "goals:contribute", { units: ["sales"] })).toBe(false);
    expect(can(viewer, "read")).toBe(true);
  });

  it("limits a member's unit-scoped actions to their memberships' subtrees", () => {
    const lead = {
      ...base,
      memberships: [{ unit_id: "sales", role: "lead" as const }],
      permissions: ["read", "goals:write", "goals:contribute", "members:manage"],
    };
    expect(can(lead, "goals:write", { units: ["sales-eu", "sales", "org"] })).toBe(true);
    expect(can(lead, "goals:write", { units: ["support", "org"] })).toBe(false);
    expect(can(lead, "goals:write")).toBe(true); // somewhere
    const member = {
      ...base,
      memberships: [{ unit_id: "sales", role: "member" as const }],
      permissions: ["read", "goals:contribute"],
    };
    expect(can(member, "goals:contribute", { units: ["sales"] })).toBe(true);
    expect(can(member, "goals:write", { units: ["sales"] })).toBe(false);
    expect(can(member, "goals:contribute", { units: ["support"], ownerId: "u1" })).toBe(true);
    expect(can(member, "goals:contribute", { units: ["support"], ownerId: "u2" })).toBe(false);
  });

  it("lets editors and admins act anywhere their permissions say", () => {
    const editor = { ...base, role: "editor" as const, permissions: ["read", "goals:write", "org:write"] };
    expect(can(editor, "goals:write", { units: ["anything"] })).toBe(true);
    expect(can(editor, "people:manage")).toBe(false);
    expect(can(null, "read")).toBe(false);
  });

  it("walks a unit's ancestors", () => {
    const units = [
      { id: "org", parent_id: null },
      { id: "sales", parent_id: "org" },
      { id: "eu", parent_id: "sales" },
    ];
    expect(unitAndAncestors("eu", units)).toEqual(["eu", "sales", "org"]);
    expect(unitAndAncestors(null, units)).toEqual([]);
  });
});
