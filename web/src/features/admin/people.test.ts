import { describe, expect, it } from "vitest";

import { addableMembers, invitationLink } from "./people";

describe("invitationLink", () => {
  it("puts the token in the fragment of the app's address", () => {
    expect(invitationLink("http://127.0.0.1:8000/", "a b+c")).toBe("http://127.0.0.1:8000/#invite=a%20b%2Bc");
  });
});

describe("addableMembers", () => {
  it("offers only people not yet in the unit, by name", () => {
    const people = new Map([
      ["u1", "Zoe"],
      ["u2", "Adam"],
      ["u3", "Mia"],
    ]);
    expect(addableMembers(people, [{ user_id: "u3" }])).toEqual([
      { id: "u2", name: "Adam" },
      { id: "u1", name: "Zoe" },
    ]);
  });
});
