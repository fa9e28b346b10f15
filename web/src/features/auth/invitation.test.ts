import { describe, expect, it } from "vitest";

import { invitationToken, passwordMismatch } from "./invitation";

describe("invitationToken", () => {
  it("reads the token the admin page's link carries", () => {
    expect(invitationToken("#invite=abc-DEF_123")).toBe("abc-DEF_123");
    expect(invitationToken(`#invite=${encodeURIComponent("a/b+c=")}`)).toBe("a/b+c=");
  });

  it("ignores other fragments and broken links", () => {
    expect(invitationToken("")).toBeNull();
    expect(invitationToken("#main")).toBeNull();
    expect(invitationToken("#invite=")).toBeNull();
    expect(invitationToken("#invite=%E0%A4%A")).toBeNull();
    expect(invitationToken(`#invite=${"x".repeat(201)}`)).toBeNull();
  });
});

describe("passwordMismatch", () => {
  it("says so when the repeated password differs", () => {
    expect(passwordMismatch("correct horse battery", "correct horse battery")).toBeNull();
    expect(passwordMismatch("correct horse battery", "correct horse batterY")).toMatch(/differ/);
  });
});
