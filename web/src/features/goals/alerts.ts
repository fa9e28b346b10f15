/** A goal's alerts in words. */
import { formatPercent } from "@/shared/lib/format";

/** Why a status alert is still open though the goal is on track again (the api's
 * hysteresis: it resolves by itself only at a score of at least at_risk + margin). */
export function stillOpenReason(
  kind: string,
  goal: { status: { status: string; score: number | null }; thresholds: { at_risk: number }; alert_clear_margin: number },
): string | null {
  if (kind !== "status" || goal.status.status !== "on_track") return null;
  const clears = goal.thresholds.at_risk + goal.alert_clear_margin;
  return (
    `Still open though the goal is on track again: it closes by itself once the score reaches ` +
    `${formatPercent(clears)} (now ${formatPercent(goal.status.score)}), so a goal hovering at the ` +
    `threshold keeps one alert. Resolve it if you are satisfied.`
  );
}
