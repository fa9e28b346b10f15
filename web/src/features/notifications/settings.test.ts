import { describe, expect, it } from "vitest";

import {
  type Delivery,
  deliveryLabel,
  digestBody,
  digestLabel,
  EVENTS,
  eventLabel,
  goalChoices,
  ownChannels,
  preferencesBody,
  quietHoursLabel,
  scopeLabel,
  subscriptionBody,
  timeZones,
} from "./settings";

describe("subscriptionBody", () => {
  const base = { channelId: "c1", events: ["alert.opened"], minSeverity: "warning" as const };

  it("asks for the owner's goals with mine", () => {
    expect(subscriptionBody({ ...base, scope: "mine", goalId: "g1", unitId: "u1" })).toEqual({
      body: { channel_id: "c1", scope: { mine: true }, events: ["alert.opened"], min_severity: "warning" },
    });
  });

  it("names exactly one goal or one unit", () => {
    expect(subscriptionBody({ ...base, scope: "goal", goalId: "g1", unitId: "u1" })).toMatchObject({
      body: { scope: { goal_id: "g1", mine: false } },
    });
    expect(subscriptionBody({ ...base, scope: "unit", goalId: "g1", unitId: "u1" })).toMatchObject({
      body: { scope: { unit_id: "u1", mine: false } },
    });
  });

  it("says which field is missing instead of sending", () => {
    expect(subscriptionBody({ ...base, scope: "goal", goalId: "" })).toEqual({
      field: "scope.goal_id",
      message: "Choose a goal.",
    });
    expect(subscriptionBody({ ...base, scope: "unit" })).toEqual({ field: "scope.unit_id", message: "Choose a unit." });
    expect(subscriptionBody({ ...base, scope: "mine", events: [] })).toEqual({
      field: "events",
      message: "Choose at least one event.",
    });
    expect(subscriptionBody({ ...base, channelId: "", scope: "mine" })).toMatchObject({ field: "channel_id" });
  });

  it("sends each event once, with the minimum severity chosen", () => {
    const built = subscriptionBody({
      channelId: "c1",
      scope: "mine",
      events: ["check_in.due", "alert.opened", "check_in.due"],
      minSeverity: "critical",
    });
    expect(built).toMatchObject({ body: { events: ["check_in.due", "alert.opened"], min_severity: "critical" } });
  });
});

describe("labels", () => {
  it("reads a scope with the goal's or unit's name", () => {
    const goals = new Map([["g1", "EU revenue"]]);
    const units = new Map([["u1", "Sales"]]);
    expect(scopeLabel({ goal_id: "g1", mine: false }, goals, units)).toBe("Goal “EU revenue”");
    expect(scopeLabel({ unit_id: "u1", mine: false }, goals, units)).toBe("Sales and the units below it");
    expect(scopeLabel({ mine: true }, goals, units)).toBe("My goals");
    expect(scopeLabel({ goal_id: "g2", mine: false }, goals, units)).toBe("Goal “unknown goal”");
  });

  it("names every event the api accepts, and an unknown one as it is", () => {
    expect(EVENTS).toHaveLength(7);
    expect(eventLabel("check_in.due")).toBe("A check-in is due");
    expect(eventLabel("something.new")).toBe("something.new");
  });

  it("reads a digest's cadence, time and zone", () => {
    expect(digestLabel({ cadence: "daily", at: "08:30", timezone: "Europe/Berlin", weekday: 0 })).toBe(
      "Daily at 08:30 (Europe/Berlin)",
    );
    expect(digestLabel({ cadence: "weekly", at: "16:00", timezone: "UTC", weekday: 4 })).toBe(
      "Weekly on Friday at 16:00 (UTC)",
    );
  });

  it("reads quiet hours, over midnight or not", () => {
    expect(quietHoursLabel({ timezone: "Europe/Berlin", quiet_hours: { start: "22:00", end: "07:00" } })).toBe(
      "22:00–07:00 (Europe/Berlin), over midnight: only critical messages go out then; the rest wait until the end.",
    );
    expect(quietHoursLabel({ timezone: "UTC", quiet_hours: { start: "12:00", end: "13:00" } })).toMatch(/^12:00–13:00 \(UTC\):/);
    expect(quietHoursLabel({ timezone: "UTC", quiet_hours: null })).toMatch(/^None/);
  });
});

describe("digestBody", () => {
  it("sends the weekday only for a weekly digest", () => {
    const values = { channelId: "c1", at: "08:30", timezone: "Europe/Berlin", weekday: 3 };
    expect(digestBody({ ...values, cadence: "weekly" })).toEqual({
      channel_id: "c1",
      cadence: "weekly",
      at: "08:30",
      timezone: "Europe/Berlin",
      weekday: 3,
    });
    expect(digestBody({ ...values, cadence: "daily" }).weekday).toBe(0);
  });
});

describe("preferencesBody", () => {
  it("sends the span when quiet hours are on", () => {
    expect(preferencesBody({ timezone: "Europe/Berlin", quiet: true, start: "22:00", end: "07:00" })).toEqual({
      timezone: "Europe/Berlin",
      quiet_hours: { start: "22:00", end: "07:00" },
    });
  });

  it("sends none when they are off or start where they end", () => {
    expect(preferencesBody({ timezone: "UTC", quiet: false, start: "22:00", end: "07:00" }).quiet_hours).toBeNull();
    expect(preferencesBody({ timezone: "UTC", quiet: true, start: "09:00", end: "09:00" }).quiet_hours).toBeNull();
  });
});

describe("pickers", () => {
  it("puts the current zone first and UTC second, each once", () => {
    expect(timeZones(["Europe/Berlin", "UTC", "Asia/Tokyo"], "Asia/Tokyo")).toEqual([
      "Asia/Tokyo",
      "UTC",
      "Europe/Berlin",
    ]);
  });

  it("lists goals in cascade order, indented by depth", () => {
    const tree = [
      { id: "a", title: "Revenue", children: [{ id: "b", title: "EU revenue", children: [] }] },
      { id: "c", title: "NPS", children: [] },
    ];
    expect(goalChoices(tree)).toEqual([
      { id: "a", title: "Revenue", label: "Revenue" },
      { id: "b", title: "EU revenue", label: "\u00a0\u00a0EU revenue" },
      { id: "c", title: "NPS", label: "NPS" },
    ]);
  });

  it("keeps only the person's own channels, oldest first", () => {
    const channels = [
      { id: "2", owner: { kind: "user", id: "me" }, created_at: "2026-11-30T10:00:00Z" },
      { id: "1", owner: { kind: "user", id: "me" }, created_at: "2026-11-29T10:00:00Z" },
      { id: "3", owner: { kind: "user", id: "someone" }, created_at: "2026-11-28T10:00:00Z" },
      { id: "4", owner: { kind: "unit", id: "me" }, created_at: "2026-11-28T10:00:00Z" },
    ];
    expect(ownChannels(channels, "me").map((c) => c.id)).toEqual(["1", "2"]);
  });
});

describe("deliveryLabel", () => {
  const delivery: Delivery = {
    id: "d1",
    kind: "digest",
    severity: "info",
    subject: null,
    events: 0,
    status: "pending",
    attempts: 0,
    created_at: "2026-11-30T10:00:00Z",
  };

  it("says where a message stands", () => {
    expect(deliveryLabel(delivery)).toEqual({ what: "Digest (not sent yet)", state: "Waiting to be sent" });
    expect(deliveryLabel({ ...delivery, held_until: "2026-11-30T07:00:00Z" }).state).toBe(
      "Waiting for quiet hours to end",
    );
    expect(deliveryLabel({ ...delivery, attempts: 2, last_error: "connection refused" }).state).toBe(
      "Retrying (2 attempts: connection refused)",
    );
    expect(deliveryLabel({ ...delivery, status: "delivered", attempts: 1, subject: "Daily digest" })).toEqual({
      what: "Daily digest",
      state: "Delivered",
    });
    expect(deliveryLabel({ ...delivery, status: "delivered", attempts: 3 }).state).toBe("Delivered after 3 attempts");
    expect(deliveryLabel({ ...delivery, status: "failed", attempts: 10, last_error: "gave up" }).state).toBe(
      "Failed: gave up",
    );
  });
});
