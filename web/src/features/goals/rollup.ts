/**
 * A roll-up goal's children in words and in order (SPEC §5, issue 24): the counts by
 * status as a sentence ("4 of 15 goals off track, 2 at risk"), the children that pull the
 * roll-up down most, and the children sorted (worst first by default).
 */
import { STATUS_ORDER, type GoalStatus } from "@/shared/lib/format";

export type ChildRow = {
  id: string;
  title: string;
  status: GoalStatus;
  score: number | null;
  weight: number;
};

export type ChildSort = "status" | "score" | "title" | "weight";

const RANK = new Map(STATUS_ORDER.map((s, i) => [s, i]));

/** Children in order: by status worst first (then lowest score), by score (lowest first,
 * unscored last), by title or by weight (highest first); `descending` reverses. */
export function sortChildren(rows: ChildRow[], by: ChildSort, descending = false): ChildRow[] {
  const score = (r: ChildRow) => (r.score === null ? Number.POSITIVE_INFINITY : r.score);
  const compare: Record<ChildSort, (a: ChildRow, b: ChildRow) => number> = {
    status: (a, b) => (RANK.get(a.status)! - RANK.get(b.status)!) || score(a) - score(b),
    score: (a, b) => score(a) - score(b),
    title: (a, b) => a.title.localeCompare(b.title),
    weight: (a, b) => b.weight - a.weight,
  };
  const sorted = [...rows].sort((a, b) => compare[by](a, b) || a.title.localeCompare(b.title));
  return descending ? sorted.reverse() : sorted;
}

/** "4 of 15 goals off track, 2 at risk, 1 missed" — the trouble first; "All 3 goals on
 * track or achieved" when there is none; null without counts. */
export function childrenSentence(counts: Partial<Record<GoalStatus, number>> | null | undefined): string | null {
  if (!counts) return null;
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  if (total === 0) return null;
  const noun = total === 1 ? "goal" : "goals";
  const trouble = (["off_track", "at_risk", "missed"] as const)
    .filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s === "off_track" ? "off track" : s === "at_risk" ? "at risk" : "missed"}`);
  if (trouble.length === 0) {
    const good = (counts.on_track ?? 0) + (counts.achieved ?? 0);
    return good === total
      ? `All ${total} ${noun} on track or achieved`
      : `None of the ${total} ${noun} off track or at risk`;
  }
  const [first, ...rest] = trouble;
  return [`${first!.replace(/^(\d+)/, `$1 of ${total} ${noun}`)}`, ...rest].join(", ");
}

/** The children that pull the roll-up down most: those scored below `cap`, weighted by
 * how far below they are (weight × (cap − score)), largest first, at most `limit`. */
export function pullingDown(rows: ChildRow[], cap = 1, limit = 3): ChildRow[] {
  return rows
    .filter((r) => r.score !== null && r.weight > 0 && r.score < cap && r.status !== "on_track")
    .map((r) => ({ row: r, drag: r.weight * (cap - r.score!) }))
    .sort((a, b) => b.drag - a.drag)
    .slice(0, limit)
    .map((x) => x.row);
}

/** "Pulled down most by APAC revenue and EU revenue." */
export function pullingSentence(rows: ChildRow[]): string | null {
  if (rows.length === 0) return null;
  const names = rows.map((r) => r.title);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  return `Pulled down most by ${list}.`;
}

type StatusEntry = { type: string; time: string; score?: number | null };

/** The roll-up's score over time (from its status history), as an ECharts option: a
 * line in percent with the at-risk and off-track thresholds. */
export function scoreChartOption(
  history: StatusEntry[],
  thresholds: { at_risk: number; off_track: number },
): Record<string, unknown> {
  const points = history
    .filter((e) => e.type === "status" && e.score !== null && e.score !== undefined)
    .map((e) => [Date.parse(e.time), Math.round(e.score! * 1000) / 10]);
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 24, bottom: 32 },
    tooltip: { trigger: "axis", valueFormatter: (v: number) => `${v} %` },
    xAxis: { type: "time" },
    // Both thresholds always in view, with the score's own range around them.
    yAxis: {
      type: "value",
      axisLabel: { formatter: "{value} %" },
      min: (range: { min: number }) => Math.floor(Math.min(range.min, thresholds.off_track * 100) - 5),
      max: (range: { max: number }) => Math.ceil(Math.max(range.max, thresholds.at_risk * 100) + 5),
    },
    series: [
      {
        name: "Score",
        type: "line",
        showSymbol: false,
        data: points,
        lineStyle: { color: "#1d4ed8", width: 2 },
        itemStyle: { color: "#1d4ed8" },
        markLine: {
          symbol: "none",
          label: { formatter: "{b}", position: "insideEndTop" },
          data: [
            { name: "at risk below", yAxis: thresholds.at_risk * 100, lineStyle: { color: "#b45309", type: "dashed" } },
            { name: "off track below", yAxis: thresholds.off_track * 100, lineStyle: { color: "#b91c1c", type: "dashed" } },
          ],
        },
      },
    ],
  };
}
