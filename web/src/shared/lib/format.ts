/** Numbers, dates and goal statuses in words: the one place the app formats them. */
import type { Schemas } from "@/shared/api/client";

export type GoalStatus = Schemas["GoalStatus"];
export type StatusObject = Schemas["GoalStatusOut"];

export const STATUS_LABEL: Record<GoalStatus, string> = {
  on_track: "On track",
  at_risk: "At risk",
  off_track: "Off track",
  achieved: "Achieved",
  missed: "Missed",
  no_data: "No data",
  not_started: "Not started",
};

/** Worst first: the order in which a meeting or an inbox should look at goals. */
export const STATUS_ORDER: GoalStatus[] = [
  "off_track",
  "missed",
  "at_risk",
  "no_data",
  "on_track",
  "not_started",
  "achieved",
];

const compact = new Intl.NumberFormat("en", { maximumFractionDigits: 1, notation: "compact" });
const plain = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

/** 1234567 → "1.2M", 0.4567 → "0.46"; null → an en dash. */
export function formatNumber(value: number | null | undefined, unit?: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const text = Math.abs(value) >= 10_000 ? compact.format(value) : plain.format(value);
  if (!unit || unit === "count") return text;
  if (unit === "%") return `${text} %`;
  return `${text} ${unit}`;
}

function withUnit(text: string, unit?: string): string {
  if (!unit || unit === "count") return text;
  if (unit === "%") return `${text} %`;
  return `${text} ${unit}`;
}

/**
 * A change of one quantity, old → new, the unit said once: "44.6M → 30.0M EUR". Both sides
 * carry the same number of decimals so they read as one scale; a side that is not a
 * number is an en dash.
 */
export function formatChange(from: unknown, to: unknown, unit?: string): string {
  const numbers = [from, to].filter((v): v is number => typeof v === "number" && !Number.isNaN(v));
  const big = numbers.some((v) => Math.abs(v) >= 10_000);
  const decimals = (text: string) => /\.(\d+)/.exec(text)?.[1]?.length ?? 0;
  const digits = Math.max(0, ...numbers.map((v) => decimals((big ? compact : plain).format(v))));
  const format = new Intl.NumberFormat("en", {
    notation: big ? "compact" : "standard",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  const side = (v: unknown) =>
    typeof v === "number" && !Number.isNaN(v) ? format.format(v) : v === null || v === undefined ? "–" : String(v);
  return withUnit(`${side(from)} → ${side(to)}`, unit);
}

/** 0.823 → "82 %". */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) return "–";
  return `${Math.round(share * 100)} %`;
}

/**
 * The person's time zone: the browser's. Instants (when something happened) are shown in it,
 * with its name ("6 Dec 2026, 11:00 CET"); days (a due day, a milestone's day) are UTC days,
 * as the api stores a due day as the end of that day in UTC.
 */
export const PERSON_TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const dateTimes = new Map<string, Intl.DateTimeFormat>();
function dateTimeIn(zone: string): Intl.DateTimeFormat {
  let format = dateTimes.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", {
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: zone,
      timeZoneName: "short",
    });
    dateTimes.set(zone, format);
  }
  return format;
}
const dateOnly = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});

/** "6 Dec 2026, 11:00 CET": an instant in the person's time zone (or `zone`). */
export function formatDateTime(iso: string | null | undefined, zone: string = PERSON_TIME_ZONE): string {
  return iso ? dateTimeIn(zone).format(new Date(iso)) : "–";
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateOnly.format(new Date(iso)) : "–";
}

/** Whole days between two instants, at least 0. */
export function daysBetween(fromIso: string, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - new Date(fromIso).getTime()) / 86_400_000));
}

type Explainable = {
  start: string | null;
  due: string | null;
  type: Schemas["GoalType"];
  kpi: string | null;
  status: StatusObject;
};

/**
 * The status object in one sentence a person can repeat in a meeting, e.g. "82 % of
 * the expected pace after 3 days of the period; forecast: likely missed (1,200 at due)".
 */
export function explainStatus(goal: Explainable, now: Date = new Date()): string {
  const s = goal.status;
  const days = goal.start ? daysBetween(goal.start, now) : null;
  const after = days === null ? "" : ` after ${days} ${days === 1 ? "day" : "days"} of the period`;
  switch (s.status) {
    case "not_started":
      return `The period has not started yet${goal.start ? ` (starts ${formatDate(goal.start)})` : ""}.`;
    case "no_data":
      return goal.kpi
        ? "No data for this goal's KPI in its period yet."
        : "None of the goals below this one has a score yet.";
    case "achieved":
      return "The goal is achieved.";
    case "missed":
      return `The goal was missed: it ended at ${formatNumber(s.actual)} against a target of ${formatNumber(s.target)}.`;
    default:
      break;
  }
  const parts: string[] = [];
  if (s.score !== null) {
    if (!goal.kpi) parts.push(`Its goals score ${formatPercent(s.score)} on average${after}`);
    else if (goal.type === "reach")
      parts.push(`${formatPercent(s.score)} of the expected pace${after}`);
    else
      parts.push(
        `${formatPercent(s.score)} of the level it must ${goal.type === "stay_above" ? "stay above" : "stay below"}${after}`,
      );
  }
  if (s.actual !== null && s.expected !== null)
    parts.push(`actual ${formatNumber(s.actual)} against ${formatNumber(s.expected)} expected by now`);
  if (s.forecast)
    parts.push(
      `forecast: ${s.forecast.status === "likely_achieved" ? "likely achieved" : "likely missed"} (${formatNumber(s.forecast.value)} at due)`,
    );
  return parts.length ? `${parts.join("; ")}.` : STATUS_LABEL[s.status];
}
