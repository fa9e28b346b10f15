import { describe, expect, it } from "vitest";

import { ApiError } from "./client";
import { fieldErrors } from "./problems";

const invalid = (errors: { field: string | null; message: string }[]) =>
  new ApiError(422, "The request is invalid: …", { errors });

describe("fieldErrors", () => {
  it("puts each message on the longest field its path starts with", () => {
    const error = invalid([
      { field: "scope.goal_id", message: "Input should be a valid UUID" },
      { field: "quiet_hours.start", message: "String should match pattern" },
      { field: "scope", message: "Value error, give exactly one of goal_id, unit_id or mine: true" },
    ]);
    expect(fieldErrors(error, ["scope", "scope.goal_id", "quiet_hours"])).toEqual({
      byField: {
        "scope.goal_id": "Input should be a valid UUID",
        quiet_hours: "String should match pattern",
        scope: "give exactly one of goal_id, unit_id or mine: true",
      },
      general: null,
    });
  });

  it("keeps what no field shows as a message for the form, with its path", () => {
    const error = invalid([
      { field: "name", message: "String should have at least 1 character" },
      { field: "weekday", message: "Input should be less than or equal to 6" },
      { field: null, message: "JSON decode error" },
    ]);
    expect(fieldErrors(error, ["name"])).toEqual({
      byField: { name: "String should have at least 1 character" },
      general: "weekday: Input should be less than or equal to 6; JSON decode error",
    });
  });

  it("joins two messages about one field", () => {
    const error = invalid([
      { field: "at", message: "first" },
      { field: "at", message: "second" },
    ]);
    expect(fieldErrors(error, ["at"]).byField).toEqual({ at: "first; second" });
  });

  it("places a 422 without a list by its detail, and nothing else", () => {
    const target = new ApiError(422, "The target is not usable: an email channel's target is one email address.");
    const about = (detail: string) => (detail.includes("target") ? "target" : null);
    expect(fieldErrors(target, ["target"], about)).toEqual({
      byField: { target: target.detail },
      general: null,
    });
    const refused = new ApiError(403, "Not allowed: a channel is changed by its owner.");
    expect(fieldErrors(refused, ["target"], () => "target")).toEqual({ byField: {}, general: refused.detail });
    expect(fieldErrors(target, ["name"], about)).toEqual({ byField: {}, general: target.detail });
  });

  it("has nothing to say without an error, and a plain message for a thrown one", () => {
    expect(fieldErrors(null, ["name"])).toEqual({ byField: {}, general: null });
    expect(fieldErrors(new Error("offline"), ["name"])).toEqual({ byField: {}, general: "offline" });
  });
});
