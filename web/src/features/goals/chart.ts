/**
 * The goal chart's series, pure: actual (from the status history, or for a plain `sum`
 * KPI the running total of its values when history is short), the expected pace from
 * baseline to target, the target, and the forecast from now to due with its band.
 */
import type { Schemas } from "@/shared/api/client";
import { isRunningTotal } from "@/shared/lib/kpi";

import type { GoalWithPlans } from "./types";

export type Point = [number, number];
export type GoalSeries = {
  actual: Point[];
  expected: Point[];
  target: number | null;
  forecast: Point[];
  band: { low: Point[]; high: Point[] } | null;
};

type History = Schemas["GoalHistory"]["items"];


export function goalSeries(
  goal: GoalWithPlans,
  history: History,
  kpiPoints: { time: string; value: number | null }[],
  expression: string | undefined,
  now: Date,
): GoalSeries {
  let actual: Point[] = history.flatMap((e) =>
    e.type === "status" && e.actual !== null ? [[Date.parse(e.time), e.actual] as Point] : [],
  );
  if (actual.length < 3 && isRunningTotal(expression) && goal.type === "reach" && !goal.window) {
    let total = goal.baseline;
    actual = kpiPoints.map((p) => {
      total += p.value ?? 0;
      return [Date.parse(p.time), total] as Point;
    });
  }
  const start = goal.start ? Date.parse(goal.start) : null;
  const due = goal.due ? Date.parse(goal.due) : null;
  const target = goal.target;
  let expected: Point[] = [];
  if (start !== null && due !== null && target !== null) {
    expected =
      goal.pacing === "linear" && goal.type === "reach"
        ? [
            [start, goal.baseline],
            [due, target],
          ]
        : [
            [start, target],
            [due, target],
          ];
  }
  const forecast: Point[] = [];
  let band: GoalSeries["band"] = null;
  const f = goal.status.forecast;
  if (f && due !== null && goal.status.actual !== null) {
    const from = Math.min(now.getTime(), due);
    forecast.push([from, goal.status.actual], [due, f.value]);
    if (f.low != null && f.high != null)
      band = {
        low: [
          [from, goal.status.actual],
          [due, f.low],
        ],
        high: [
          [from, goal.status.actual],
          [due, f.high],
        ],
      };
  }
  return { actual, expected, target, forecast, band };
}

/** ECharts option for the series; colours match the stylesheet's. */
export function chartOption(series: GoalSeries, unit: string): Record<string, unknown> {
  const lines: Record<string, unknown>[] = [
    {
      name: "Actual",
      type: "line",
      data: series.actual,
      showSymbol: false,
      lineStyle: { width: 2.5, color: "#1d4ed8" },
      itemStyle: { color: "#1d4ed8" },
    },
    {
      name: "Expected pace",
      type: "line",
      data: series.expected,
      showSymbol: false,
      lineStyle: { type: "dashed", color: "#6b7280" },
      itemStyle: { color: "#6b7280" },
      markLine:
        series.target === null
          ? undefined
          : {
              symbol: "none",
              label: { formatter: "Target", position: "insideEndTop" },
              lineStyle: { color: "#047857" },
              data: [{ yAxis: series.target }],
            },
    },
  ];
  if (series.forecast.length)
    lines.push({
      name: "Forecast",
      type: "line",
      data: series.forecast,
      showSymbol: true,
      lineStyle: { type: "dotted", width: 2, color: "#b45309" },
      itemStyle: { color: "#b45309" },
    });
  if (series.band) {
    lines.push(
      {
        name: "Forecast range",
        type: "line",
        data: series.band.low,
        stack: "band",
        lineStyle: { opacity: 0 },
        showSymbol: false,
        itemStyle: { color: "#f59e0b" },
      },
      {
        name: "Forecast range ",
        type: "line",
        data: series.band.high.map(([t, v], i) => [t, v - (series.band!.low[i]?.[1] ?? 0)]),
        stack: "band",
        lineStyle: { opacity: 0 },
        showSymbol: false,
        areaStyle: { color: "rgba(245, 158, 11, 0.2)" },
        tooltip: { show: false },
      },
    );
  }
  return {
    animation: false,
    grid: { left: 64, right: 24, top: 40, bottom: 32 },
    legend: { top: 0, data: ["Actual", "Expected pace", "Forecast"] },
    tooltip: { trigger: "axis" },
    xAxis: { type: "time" },
    yAxis: { type: "value", name: unit, scale: false },
    series: lines,
  };
}
