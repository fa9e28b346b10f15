/**
 * An alert in words, pure: the kinds the inbox filters by (every `AlertKind`) and an
 * alert's details as label/value pairs — observed, expected and the band for anomalies
 * (SPEC §13), the status, score, actual and expected for status and forecast alerts.
 */
import type { Schemas } from "@/shared/api/client";
import { formatDateTime, formatNumber, formatPercent, STATUS_LABEL } from "@/shared/lib/format";

export type AlertKind = Schemas["AlertKind"];

export const ALERT_KINDS: [AlertKind, string][] = [
  ["status", "Status"],
  ["forecast", "Forecast"],
  ["stale_data", "Stale data"],
  ["plan", "Plan (late milestone or initiative)"],
  ["anomaly", "Anomaly"],
  ["source", "Source failing"],
];

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function driverText(driver: unknown): string | null {
  if (!driver) return null;
  if (typeof driver === "string") return driver;
  if (typeof driver === "object") {
    const d = driver as Record<string, unknown>;
    const dims = d.dimensions && typeof d.dimensions === "object" ? (d.dimensions as Record<string, unknown>) : d;
    const text = Object.entries(dims)
      .filter(([, v]) => typeof v === "string" || typeof v === "number")
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(", ");
    return text || null;
  }
  return null;
}

/** The details a person reads, in order; `unit` is the KPI's. */
export function alertFacts(details: Record<string, unknown>, unit?: string): [string, string][] {
  const facts: [string, string][] = [];
  const observed = num(details.observed);
  if (observed !== null) facts.push(["Observed", formatNumber(observed, unit)]);
  const status = details.status;
  if (typeof status === "string" && status in STATUS_LABEL)
    facts.push(["Status then", STATUS_LABEL[status as keyof typeof STATUS_LABEL]]);
  if (num(details.score) !== null) facts.push(["Score", formatPercent(num(details.score))]);
  if (num(details.actual) !== null) facts.push(["Actual", formatNumber(num(details.actual), unit)]);
  if (num(details.expected) !== null) facts.push(["Expected", formatNumber(num(details.expected), unit)]);
  const low = num(details.low);
  const high = num(details.high);
  if (low !== null && high !== null) facts.push(["Band", `${formatNumber(low)} – ${formatNumber(high, unit)}`]);
  if (typeof details.bucket === "string") facts.push(["Period", formatDateTime(details.bucket)]);
  const driver = driverText(details.driver);
  if (driver) facts.push(["Driver", driver]);
  return facts;
}
