/**
 * The KPI definition form. The expression is checked on the api as the user types
 * (debounced); a parse error is shown under the field with a caret at its position, and
 * metric names or label keys no event has carried yet are named with "did you mean"
 * (a warning: saving stays possible, a KPI may come before its events).
 */
import { type FormEvent, useEffect, useState } from "react";

import type { Schemas } from "@/shared/api/client";
import { ErrorMessage } from "@/shared/components/Feedback";

import { checkExpression, type ExpressionVerdict, useSaveKpi } from "./api";

const DEBOUNCE_MS = 300;

export function KpiForm({
  kpi,
  onSaved,
  units,
  withoutUnit = true,
}: {
  kpi?: Schemas["KpiOut"];
  onSaved?: (key: string) => void;
  /** The units the KPI may be given (where the person may define KPIs). */
  units?: { id: string; name: string }[];
  /** May the person define a KPI without a unit (editors and admins)? */
  withoutUnit?: boolean;
}) {
  const save = useSaveKpi(kpi?.key ?? null);
  const [expression, setExpression] = useState(kpi?.expression ?? "");
  const [verdict, setVerdict] = useState<ExpressionVerdict | null>(null);

  useEffect(() => {
    if (!expression.trim()) {
      setVerdict(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      checkExpression(expression)
        .then((v) => current && setVerdict(v))
        .catch(() => current && setVerdict(null));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [expression]);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    save.mutate(
      {
        key: kpi?.key ?? String(data.get("key")),
        name: String(data.get("name")),
        unit: String(data.get("unit")),
        description: String(data.get("description") ?? ""),
        expression,
        kind: String(data.get("kind")) as Schemas["KpiKind"],
        source: kpi?.source ?? "events",
        category: String(data.get("category") ?? "") || null,
        ...(units ? { unit_id: String(data.get("unit_id") ?? "") || null } : {}),
      },
      { onSuccess: (saved) => onSaved?.(saved.key) },
    );
  }

  const invalid = verdict !== null && !verdict.ok;
  return (
    <form className="stacked" onSubmit={submit} aria-label={kpi ? "Edit KPI" : "New KPI"}>
      {!kpi && (
        <label>
          Key
          <input name="key" required pattern="[a-z][a-z0-9_]*" />
        </label>
      )}
      <label>
        Name
        <input name="name" required defaultValue={kpi?.name} />
      </label>
      <div className="row">
        <label>
          Unit
          <input name="unit" required defaultValue={kpi?.unit ?? "count"} />
        </label>
        <label>
          Kind
          <select name="kind" defaultValue={kpi?.kind ?? "lagging"}>
            <option value="leading">Leading</option>
            <option value="lagging">Lagging</option>
          </select>
        </label>
      </div>
      <label>
        Expression
        <input
          name="expression"
          className="mono"
          required
          value={expression}
          aria-invalid={invalid}
          aria-describedby="expression-help"
          onChange={(e) => setExpression(e.target.value)}
          spellCheck={false}
        />
      </label>
      <div id="expression-help" aria-live="polite" className="small">
        {verdict === null ? (
          <span className="muted">For example sum(revenue{"{"}region="eu"{"}"}) / sum(orders).</span>
        ) : verdict.ok && verdict.warnings.length > 0 ? (
          <div className="warn-text" data-testid="expression-warnings">
            Parses, but check the names:
            <ul>
              {verdict.warnings.map((w) => (
                <li key={`${w.metric}/${w.label ?? ""}`}>{w.message}</li>
              ))}
            </ul>
          </div>
        ) : verdict.ok ? (
          <span className="ok-text">Valid · reads {verdict.metrics.join(", ")}, all seen in events</span>
        ) : (
          <div className="error" data-testid="expression-error">
            {verdict.position !== null && (
              <pre className="caret" aria-hidden="true">
                {expression}
                {"\n"}
                {" ".repeat(Math.min(verdict.position, expression.length))}^
              </pre>
            )}
            {verdict.message}
            {verdict.position !== null && ` (at position ${verdict.position})`}
          </div>
        )}
      </div>
      {units && (
        <label>
          Belongs to unit
          <select name="unit_id" defaultValue={kpi?.unit_id ?? (withoutUnit ? "" : (units[0]?.id ?? ""))}>
            {withoutUnit && <option value="">No unit (editors and administrators change it)</option>}
            {units.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Category
        <input name="category" defaultValue={kpi?.category ?? ""} />
      </label>
      <label>
        Description
        <textarea name="description" rows={2} defaultValue={kpi?.description} />
      </label>
      <button type="submit" className="primary" disabled={save.isPending || invalid}>
        {kpi ? "Save KPI" : "Create KPI"}
      </button>
      {save.error && <ErrorMessage error={save.error} />}
      {save.isSuccess && (
        <p role="status" className="ok-text">
          Saved.
        </p>
      )}
    </form>
  );
}
