/** The alerts inbox: unresolved alerts across every goal, filterable; acknowledge and resolve. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { api, request, type Schemas } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, QueryState } from "@/shared/components/Feedback";
import { formatDateTime } from "@/shared/lib/format";

type StateFilter = Schemas["AlertStateFilter"];
type Kind = Schemas["AlertKind"];

export default function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const state = (params.get("state") ?? "unresolved") as StateFilter;
  const kind = (params.get("kind") ?? "") as Kind | "";
  const severity = params.get("severity") ?? "";
  const { can } = useSession();
  const client = useQueryClient();
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
  const act = useMutation({
    mutationFn: ({ id, action, note }: { id: string; action: "ack" | "resolve"; note: string }) =>
      request(
        action === "ack"
          ? api.POST("/v1/alerts/{alert_id}/ack", { params: { path: { alert_id: id } }, body: { note: note || null } })
          : api.POST("/v1/alerts/{alert_id}/resolve", { params: { path: { alert_id: id } }, body: { note: note || null } }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["alerts"] }),
  });
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
            <option value="status">Status</option>
            <option value="forecast">Forecast</option>
            <option value="stale_data">Stale data</option>
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
              <table className="alerts">
                <thead>
                  <tr>
                    <th scope="col">Goal</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Severity</th>
                    <th scope="col">State</th>
                    <th scope="col">Opened</th>
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
                      <td>{a.kind.replace("_", " ")}</td>
                      <td>
                        <span className={`badge severity-${a.severity}`}>{a.severity}</span>
                      </td>
                      <td>{a.state}</td>
                      <td>{formatDateTime(a.opened_at)}</td>
                      <td>{a.note ?? ""}</td>
                      {can("goals:contribute") && (
                        <td>
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
