/**
 * The alerts inbox: unresolved alerts across every goal, filterable by state, every kind
 * and severity, each with its details (observed, expected, band for anomalies); acknowledge
 * and resolve. On a phone the table stacks into one block per alert (no sideways scroll).
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { useAlertAction } from "@/shared/api/alerts";
import { useKpiMap } from "@/shared/api/queries";
import { api, request, type Schemas } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, QueryState } from "@/shared/components/Feedback";
import { formatDateTime } from "@/shared/lib/format";

import { ALERT_KINDS, alertFacts } from "./details";

type StateFilter = Schemas["AlertStateFilter"];
type Kind = Schemas["AlertKind"];
const KIND_LABEL = Object.fromEntries(ALERT_KINDS) as Record<Kind, string>;

export default function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const state = (params.get("state") ?? "unresolved") as StateFilter;
  const kind = (params.get("kind") ?? "") as Kind | "";
  const severity = params.get("severity") ?? "";
  const { can } = useSession();
  const alerts = useQuery({
    queryKey: ["alerts", { state, kind }],
    refetchInterval: 15_000,
    queryFn: async () =>
      (
        await request(
          api.GET("/v1/alerts", {
            params: { query: { state, ...(kind ? { kind } : {}), limit: 200 } },
          }),
        )
      ).items,
  });
  const act = useAlertAction();
  const kpis = useKpiMap();
  const [notes, setNotes] = useState<Record<string, string>>({});

  function set(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  }

  return (
    <>
      <h1>Alerts</h1>
      <form className="filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state} onChange={(e) => set("state", e.target.value)}>
            <option value="unresolved">Open and acknowledged</option>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="resolved">Resolved</option>
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => set("kind", e.target.value)}>
            <option value="">Any</option>
            {ALERT_KINDS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => set("severity", e.target.value)}>
            <option value="">Any</option>
            <option value="critical">Critical</option>
            <option value="warning">Warning</option>
          </select>
        </label>
      </form>
      <QueryState query={alerts}>
        {(items) => {
          const shown = items.filter((a) => !severity || a.severity === severity);
          return shown.length === 0 ? (
            <p className="empty">No alerts here. Nothing needs attention.</p>
          ) : (
            <div className="table-scroll" tabIndex={0} role="region" aria-label="Alerts table">
              <table className="stack-on-phone">
                <thead>
                  <tr>
                    <th scope="col">Goal</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Severity</th>
                    <th scope="col">State</th>
                    <th scope="col">Opened</th>
                    <th scope="col">Details</th>
                    <th scope="col">Note</th>
                    {can("goals:contribute") && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {shown.map((a) => (
                    <tr key={a.id} data-alert-id={a.id}>
                      <th scope="row">
                        <Link to={`/goals/${a.goal_id}`}>{a.goal_title ?? "Goal"}</Link>
                      </th>
                      <td data-label="Kind">{KIND_LABEL[a.kind] ?? a.kind}</td>
                      <td data-label="Severity">
                        <span className={`badge severity-${a.severity}`}>{a.severity}</span>
                      </td>
                      <td data-label="State">{a.state}</td>
                      <td data-label="Opened">{formatDateTime(a.opened_at)}</td>
                      <td data-label="Details" data-testid="alert-details">
                        <AlertFacts
                          facts={alertFacts(
                            a.details as Record<string, unknown>,
                            kpis.data?.get(String((a.details as Record<string, unknown>).kpi ?? ""))?.unit,
                          )}
                        />
                      </td>
                      <td data-label="Note">{a.note ?? ""}</td>
                      {can("goals:contribute") && (
                        <td data-label="Actions">
                          {a.state !== "resolved" && (
                            <div className="inline-form">
                              <label>
                                <span className="visually-hidden">Note for {a.goal_title}</span>
                                <input
                                  placeholder="Note"
                                  value={notes[a.id] ?? ""}
                                  onChange={(e) => setNotes({ ...notes, [a.id]: e.target.value })}
                                />
                              </label>
                              {a.state === "open" && (
                                <button type="button" onClick={() => act.mutate({ id: a.id, action: "ack", note: notes[a.id] ?? "" })}>
                                  Acknowledge
                                </button>
                              )}
                              <button type="button" onClick={() => act.mutate({ id: a.id, action: "resolve", note: notes[a.id] ?? "" })}>
                                Resolve
                              </button>
                            </div>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </QueryState>
      {act.error && <ErrorMessage error={act.error} />}
    </>
  );
}

function AlertFacts({ facts }: { facts: [string, string][] }) {
  if (facts.length === 0) return <span className="muted">–</span>;
  return (
    <dl className="facts-inline">
      {facts.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
