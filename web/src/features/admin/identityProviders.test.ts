import { describe, expect, it } from "vitest";

import { roleMappingOf } from "./IdentityProvidersPanel";

describe("role mapping from the form", () => {
  it("is none when nothing is given", () => {
    expect(roleMappingOf("", "  ", "viewer")).toBeNull();
  });
  it("reads value=role per line or comma, the last = splitting", () => {
    expect(roleMappingOf(" groups ", "northstar-admins=admin\nsales = editor, a=b=member", "")).toEqual({
      claim: "groups",
      map: { "northstar-admins": "admin", sales: "editor", "a=b": "member" },
      default: null,
    });
  });
  it("says what is wrong in words", () => {
    expect(() => roleMappingOf("", "sales=editor", "viewer")).toThrow(/Name the claim/);
    expect(() => roleMappingOf("groups", "sales=boss", "viewer")).toThrow(/“sales=boss” is not value=role/);
    expect(() => roleMappingOf("groups", "=admin", "viewer")).toThrow(/is not value=role/);
  });
});
