import { describe, expect, it } from "vitest";

import { CHANNEL_KINDS, channelBody, channelKind, targetProblem } from "./channels";

describe("channelBody", () => {
  it("leaves the owner to the api for a person's own channel, trimmed", () => {
    expect(channelBody({ name: "  My email ", kind: "email", target: " me@example.com " })).toEqual({
      name: "My email",
      kind: "email",
      target: "me@example.com",
    });
  });

  it("names the unit as owner of a unit channel", () => {
    expect(channelBody({ name: "Sales", kind: "slack", target: "slack://a/b/c", unitId: "u1" })).toEqual({
      name: "Sales",
      kind: "slack",
      target: "slack://a/b/c",
      owner: { kind: "unit", id: "u1" },
    });
  });

  it("treats an empty unit as the person's own channel", () => {
    expect(channelBody({ name: "x", kind: "email", target: "a@b.co", unitId: "" })).not.toHaveProperty("owner");
  });
});

describe("channel kinds", () => {
  it("offers each kind the api accepts once, email first", () => {
    expect(CHANNEL_KINDS.map((k) => k.kind)).toEqual(["email", "slack", "teams", "apprise"]);
    expect(channelKind("teams").target).toBe("Teams Workflows URL");
  });

  it("puts the api's refusal of a target next to the target field", () => {
    expect(targetProblem("The target is not usable: an email channel's target is one email address.")).toBe("target");
    expect(targetProblem("There is no unit with id 1.")).toBeNull();
  });
});

describe("offeredKinds", () => {
  it("offers only what the server can send and says how to enable the rest", async () => {
    const { offeredKinds } = await import("./channels");
    const { offered, unavailable } = offeredKinds([
      { kind: "slack", sendable: true, how_to_enable: null },
      { kind: "teams", sendable: true, how_to_enable: null },
      { kind: "apprise", sendable: true, how_to_enable: null },
      { kind: "email", sendable: false, how_to_enable: "Set NORTHSTAR_SMTP_HOST." },
    ]);
    expect(offered.map((k) => k.kind)).toEqual(["slack", "teams", "apprise"]);
    expect(unavailable).toEqual([{ label: "Email", howToEnable: "Set NORTHSTAR_SMTP_HOST." }]);
    expect(offeredKinds(undefined).offered.map((k) => k.kind)).toEqual(["email", "slack", "teams", "apprise"]);
  });
});
