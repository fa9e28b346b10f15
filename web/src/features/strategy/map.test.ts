import { describe, expect, it } from "vitest";

import type { GoalNode } from "@/shared/api/queries";

import { strategyMap } from "./map";

function node(id: string, perspective: string | null, children: GoalNode[] = []): GoalNode {
  return { id, title: id, perspective, children } as unknown as GoalNode;
}

describe("strategy map", () => {
  it("puts every goal under its perspective, inherited from its parent when it has none", () => {
    const columns = strategyMap([
      node("grow", "financial", [node("sales", null, [node("eu", null)]), node("nps", "customer")]),
      node("hire", null),
      node("green", "sustainability"),
    ]);
    const shown = Object.fromEntries(
      columns.map((c) => [c.label, c.goals.map((g) => `${g.goal.id}${g.inherited ? "*" : ""}`)]),
    );
    expect(shown).toEqual({
      Financial: ["grow", "sales*", "eu*"],
      Customer: ["nps"],
      "Internal process": [],
      "Learning and growth": [],
      sustainability: ["green"],
      "No perspective": ["hire"],
    });
    expect(columns[0]?.goals[2]?.parentTitle).toBe("sales");
  });
});
