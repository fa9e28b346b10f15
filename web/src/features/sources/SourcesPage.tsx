/** Sources (admins and editors): each source's last run and health, run now, pause,
 * change or delete it, the run log with errors in words, and the form for a new one with
 * its preview. */
import { useState } from "react";

import { ConfirmDelete } from "@/shared/components/ConfirmDelete";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

import { type Run, type Source, useDeleteSource, useRunNow, useRuns, useSources, useUpdateSource } from "./api";
import { SourceForm } from "./SourceForm";

function when(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : "–";
}

function schedule(source: Source): string {
  return source.schedule["cron"] ? `cron ${source.schedule["cron"]}` : `every ${source.schedule["every"]}`;
}

function health(source: Source): string {
  if (!source.enabled) return "paused";
  const last = source.last_run;
  if (!last) return "not run yet";
  if (source.consecutive_failures > 0) return `failing (${source.consecutive_failures} in a row)`;
  return last.status;
}

export default function SourcesPage() {
  const sources = useSources();
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const runNow = useRunNow();
  const changing = sources.data?.find((s) => s.id === editing);
  return (
    <>
      <h1>Sources</h1>
      <p className="muted">
        Northstar pulls these metrics from where they live, on a schedule. Each value is stored
        once, however often it is read.
      </p>
      <QueryState query={sources}>
        {(items) => (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Sources table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Metric</th>
                  <th scope="col">Host</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last error</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.id} aria-selected={selected === s.id}>
                    <th scope="row">
                      <button type="button" className="link-button" onClick={() => setSelected(s.id)}>
                        {s.name}
                      </button>
                    </th>
                    <td>{s.kind}</td>
                    <td className="mono">{s.metric}</td>
                    <td className="mono">{s.connection_host}</td>
                    <td>{schedule(s)}</td>
                    <td data-testid={`health-${s.name}`}>{health(s)}</td>
                    <td className="small">{s.last_run?.status === "failed" ? s.last_run.error : ""}</td>
                    <td className="actions">
                      <button
                        type="button"
                        onClick={() => {
                          setSelected(s.id);
                          runNow.mutate(s.id);
                        }}
                      >
                        Run now
                      </button>{" "}
                      <button type="button" onClick={() => setEditing(s.id)} aria-label={`Change ${s.name}`}>
                        Change
                      </button>{" "}
                      <PauseButton source={s} />{" "}
                      <SourceDelete
                        source={s}
                        onDeleted={() => {
                          if (selected === s.id) setSelected(null);
                          if (editing === s.id) setEditing(null);
                        }}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {runNow.error && <ErrorMessage error={runNow.error} />}
      {selected && <RunLog sourceId={selected} name={sources.data?.find((s) => s.id === selected)?.name} />}
      {changing && (
        <Panel title={`Change ${changing.name}`}>
          <SourceForm
            key={changing.id}
            source={changing}
            onSaved={(id) => {
              setEditing(null);
              setSelected(id);
            }}
            onCancel={() => setEditing(null)}
          />
        </Panel>
      )}
      <Panel title="New source">
        <SourceForm onSaved={setSelected} />
      </Panel>
    </>
  );
}

/** Pause stops the schedule (run now still works); resume takes it up from its next slot. */
function PauseButton({ source }: { source: Source }) {
  const update = useUpdateSource(source.id);
  return (
    <>
      <button
        type="button"
        disabled={update.isPending}
        onClick={() => update.mutate({ enabled: !source.enabled })}
        aria-label={`${source.enabled ? "Pause" : "Resume"} ${source.name}`}
      >
        {source.enabled ? "Pause" : "Resume"}
      </button>
      {update.error && <ErrorMessage error={update.error} />}
    </>
  );
}

/** "Delete", asked again inline. The values a source stored stay; its run log goes. */
function SourceDelete({ source, onDeleted }: { source: Source; onDeleted: () => void }) {
  const remove = useDeleteSource();
  return (
    <ConfirmDelete
      label={`Delete ${source.name}`}
      question={<>Delete “{source.name}” and its run log? The values it stored stay.</>}
      confirm="Delete source"
      onConfirm={() => remove.mutate(source.id, { onSuccess: onDeleted })}
      pending={remove.isPending}
      error={remove.error}
    />
  );
}

function RunLog({ sourceId, name }: { sourceId: string; name?: string }) {
  const runs = useRuns(sourceId);
  return (
    <Panel title={`Runs of ${name ?? "the source"}`}>
      <QueryState query={runs}>
        {(items: Run[]) =>
          items.length === 0 ? (
            <p className="muted">No runs yet.</p>
          ) : (
            <table className="compact" aria-label="Run log">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">Seconds</th>
                  <th scope="col" className="num">Rows</th>
                  <th scope="col" className="num">Stored</th>
                  <th scope="col" className="num">Already stored</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.id}>
                    <td>{when(r.started_at ?? r.created_at)}</td>
                    <td data-testid="run-status">{r.status}</td>
                    <td className="num">{r.duration_seconds?.toFixed(2) ?? "–"}</td>
                    <td className="num">{r.rows ?? "–"}</td>
                    <td className="num">{r.events ?? "–"}</td>
                    <td className="num">{r.duplicates ?? "–"}</td>
                    <td className="small">{r.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
    </Panel>
  );
}
