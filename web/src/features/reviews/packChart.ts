/**
 * The review pack's per-goal chart, pure: the goal's actual (its status history, then the
 * value as it stands) against the expected pace from baseline at start to target at due,
 * and the target, as SVG paths in a small box (the pack is printed, so plain SVG rather
 * than ECharts' canvas). A goal with a single actual value gets a dot on the pace line.
 */
import type { Schemas } from "@/shared/api/client";

type HistoryItem = Schemas["GoalHistory"]["items"][number];

export type PackChartInput = {
  history: HistoryItem[];
  start: string | null;
  due: string | null;
  baseline: number;
  target: number | null;
  /** The latest actual and when (the snapshot's or the goal's status). */
  actual: number | null;
  at: string | null;
};

export type PackChartPaths = {
  actual: string;
  /** Where the last actual value is (a dot). */
  last: [number, number] | null;
  expected: string;
  target: string | null;
};

export function packChartPaths(input: PackChartInput, width: number, height: number): PackChartPaths | null {
  const actual = input.history.flatMap((e) =>
    e.type === "status" && e.actual !== null ? [[Date.parse(e.time), e.actual] as [number, number]] : [],
  );
  if (input.actual !== null && input.at !== null) actual.push([Date.parse(input.at), input.actual]);
  actual.sort((a, b) => a[0] - b[0]);
  const start = input.start ? Date.parse(input.start) : null;
  const due = input.due ? Date.parse(input.due) : null;
  const expected: [number, number][] =
    start !== null && due !== null && input.target !== null
      ? [
          [start, input.baseline],
          [due, input.target],
        ]
      : [];
  if (actual.length === 0 && expected.length === 0) return null;
  const times = [...actual, ...expected].map((p) => p[0]);
  const values = [...actual, ...expected].map((p) => p[1]);
  if (input.target !== null) values.push(input.target);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const min = Math.min(...values);
  const span = Math.max(...values) - min || 1;
  const x = (t: number) => Number((((t - t0) / (t1 - t0 || 1)) * (width - 4) + 2).toFixed(1));
  const y = (v: number) => Number((height - 2 - ((v - min) / span) * (height - 4)).toFixed(1));
  const path = (points: [number, number][]) => points.map(([t, v], n) => `${n ? "L" : "M"}${x(t)},${y(v)}`).join(" ");
  const last = actual[actual.length - 1];
  return {
    actual: actual.length > 1 ? path(actual) : "",
    last: last ? [x(last[0]), y(last[1])] : null,
    expected: path(expected),
    target: input.target === null ? null : `M2,${y(input.target)} L${width - 2},${y(input.target)}`,
  };
}
