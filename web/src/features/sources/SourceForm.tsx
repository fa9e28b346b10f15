/**
 * A new source, or a change to one: the definition, a preview of the rows it returns and
 * the events they would become (nothing stored), then save. The connection is
 * write-only: it is sent, never shown again, so a change keeps the stored one unless a
 * new one is typed (and a preview of a saved source needs it typed again). The name and
 * kind of a saved source cannot change (the name is half of every pulled value's dedupe
 * key).
 */
import { type FormEvent, useState } from "react";

import type { Schemas } from "@/shared/api/client";
import { ErrorMessage } from "@/shared/components/Feedback";

import { type Preview, type Source, type SourceUpdate, useCreateSource, usePreview, useUpdateSource } from "./api";

type Kind = Schemas["SourceKindName"];

const QUERY_HINT: Record<Kind, string> = {
  sql: "SELECT resolved_at AS time, hours AS value, team FROM tickets WHERE resolved_at >= :start AND resolved_at < :end",
  prometheus: 'sum by (job) (up{job="api"})',
  http_json: "data.items",
};

function definition(form: HTMLFormElement, kind: Kind) {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? "").trim();
  const mappingText = text("mapping");
  const every = text("every");
  const token = text("token");
  return {
    name: text("name"),
    kind,
    connection: { url: text("url"), ...(token ? { token } : {}) },
    query: text("query"),
    metric: text("metric"),
    mapping: mappingText ? (JSON.parse(mappingText) as Record<string, unknown>) : {},
    schedule: (every.includes(" ") ? { cron: every } : { every }) as Record<string, string>,
    timeout_seconds: Number(text("timeout") || 30),
    max_rows: Number(text("max_rows") || 10000),
    cursor: { lookback: text("lookback") || "PT1H", settle: "PT0S" },
    enabled: true,
  };
}

/** What a change sends: every field of the form but the name and kind, the connection
 * only when a new one was typed, the cursor's settle and start as they were. */
export function changeOf(body: ReturnType<typeof definition>, source: Source): SourceUpdate {
  return {
    ...(body.connection.url ? { connection: body.connection } : {}),
    query: body.query,
    metric: body.metric,
    mapping: body.mapping,
    schedule: body.schedule,
    timeout_seconds: body.timeout_seconds,
    max_rows: body.max_rows,
    cursor: { lookback: body.cursor.lookback, settle: source.cursor.settle, since: source.cursor.since },
  };
}

export function SourceForm({
  source,
  onSaved,
  onCancel,
}: {
  /** The source to change; absent: a new one. */
  source?: Source;
  onSaved?: (id: string) => void;
  onCancel?: () => void;
}) {
  const [kind, setKind] = useState<Kind>(source?.kind ?? "sql");
  const [problem, setProblem] = useState<string | null>(null);
  const preview = usePreview();
  const create = useCreateSource();
  const update = useUpdateSource(source?.id ?? "");
  const save = source ? update : create;
  const every = source ? (source.schedule["cron"] ?? source.schedule["every"]) : "PT5M";

  function read(form: HTMLFormElement) {
    try {
      setProblem(null);
      return definition(form, kind);
    } catch {
      setProblem("The mapping must be JSON, for example {\"time\": \"at\", \"value\": \"n\"}.");
      return null;
    }
  }

  function showPreview(form: HTMLFormElement | null) {
    const body = form && read(form);
    if (!body) return;
    if (!body.connection.url) {
      setProblem("Type the connection again to preview: the stored one is never sent back.");
      return;
    }
    preview.mutate({ ...body, limit: 20 });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const body = read(event.currentTarget);
    if (!body) return;
    if (source) {
      update.mutate(changeOf(body, source), { onSuccess: (saved) => onSaved?.(saved.id) });
      return;
    }
    // A new source saved: the form is emptied for the next one.
    const form = event.currentTarget;
    create.mutate(body, {
      onSuccess: (saved) => {
        form.reset();
        preview.reset();
        onSaved?.(saved.id);
      },
    });
  }

  return (
    <form className="stacked" onSubmit={submit} aria-label={source ? `Change source ${source.name}` : "New source"}>
      <div className="row">
        <label>
          Name
          <input
            name="name"
            required
            pattern="[a-z][a-z0-9_.\-]*"
            defaultValue={source?.name}
            readOnly={Boolean(source)}
          />
        </label>
        <label>
          Kind
          <select
            name="kind"
            value={kind}
            disabled={Boolean(source)}
            onChange={(e) => setKind(e.target.value as Kind)}
          >
            <option value="sql">SQL (PostgreSQL, MySQL, MariaDB)</option>
            <option value="prometheus">Prometheus</option>
            <option value="http_json">JSON over HTTP</option>
          </select>
        </label>
        <label>
          Metric
          <input name="metric" required pattern="[a-z][a-z0-9_.]*" defaultValue={source?.metric} />
        </label>
      </div>
      <label>
        Connection ({kind === "sql" ? "database URL" : "URL"}; stored encrypted, never shown again
        {source ? `; empty keeps the stored one to ${source.connection_host}` : ""})
        <input name="url" required={!source} type="password" autoComplete="off" spellCheck={false} />
      </label>
      {kind !== "sql" && (
        <label>
          Bearer token (optional)
          <input name="token" type="password" autoComplete="off" />
        </label>
      )}
      <label>
        {kind === "sql" ? "Query" : kind === "prometheus" ? "PromQL" : "Rows (JMESPath)"}
        <textarea
          name="query"
          className="mono"
          rows={3}
          required
          placeholder={QUERY_HINT[kind]}
          defaultValue={source?.query}
        />
      </label>
      <label>
        Mapping (JSON, optional)
        <input
          name="mapping"
          className="mono"
          defaultValue={source && Object.keys(source.mapping).length ? JSON.stringify(source.mapping) : undefined}
          placeholder={kind === "prometheus" ? '{"step": "PT1M"}' : '{"time": "time", "value": "value"}'}
        />
      </label>
      <div className="row">
        <label>
          Every (ISO-8601) or cron
          <input name="every" required defaultValue={every} />
        </label>
        <label>
          Lookback
          <input name="lookback" defaultValue={source?.cursor.lookback ?? "PT1H"} />
        </label>
        <label>
          Timeout (s)
          <input name="timeout" type="number" min={1} max={600} defaultValue={source?.timeout_seconds ?? 30} />
        </label>
        <label>
          Row cap
          <input name="max_rows" type="number" min={1} defaultValue={source?.max_rows ?? 10000} />
        </label>
      </div>
      <div className="row">
        <button
          type="button"
          disabled={preview.isPending}
          onClick={(e) => showPreview(e.currentTarget.form)}
        >
          Preview
        </button>
        <button type="submit" className="primary" disabled={save.isPending}>
          {source ? "Save changes" : "Save source"}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {preview.error && <ErrorMessage error={preview.error} />}
      {preview.data && <PreviewTable preview={preview.data} />}
      {save.error && <ErrorMessage error={save.error} />}
    </form>
  );
}

function PreviewTable({ preview }: { preview: Preview }) {
  const columns = [...new Set(preview.rows.flatMap((r) => Object.keys(r)))];
  return (
    <section aria-label="Preview">
      <p className="small" role="status">
        {preview.rows.length} rows · {preview.events.length} events would be stored
        {preview.problems.length > 0 && ` · ${preview.problems.length} rows left out`} (nothing
        was stored)
      </p>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Preview rows">
        <table className="compact">
          <thead>
            <tr>
              {columns.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, i) => (
              <tr key={i}>
                {columns.map((c) => (
                  <td key={c}>{String(row[c] ?? "")}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {preview.problems.map((p) => (
        <p className="error small" key={p.index}>
          Row {p.index}: {p.message}
        </p>
      ))}
    </section>
  );
}
