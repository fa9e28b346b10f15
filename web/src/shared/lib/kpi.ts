/** What the app may assume about a KPI from its expression. */

/**
 * A KPI of the form `sum(metric…)` adds up over time: over a goal's period its actual is
 * the running total of its per-step values (charts and sparklines draw that).
 */
export function isRunningTotal(expression: string | undefined): boolean {
  return Boolean(expression && /^sum\([^()]*\)$/.test(expression.trim()));
}
