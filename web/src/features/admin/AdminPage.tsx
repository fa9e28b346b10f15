/**
 * Administration: people, units, API keys (the secret shown once), webhooks and
 * notification channels. Each section appears only to those who may use it; sections
 * whose api has not landed say so.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { useUnits } from "@/shared/api/queries";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { formatDateTime } from "@/shared/lib/format";

export default function AdminPage() {
  const { can } = useSession();
  return (
    <>
      <h1>Administration</h1>
      {can("people:manage") && <People />}
      {can("org:write") && <Units />}
      {can("keys:manage") && <ApiKeys />}
      {can("webhooks:manage") && <Webhooks />}
      {can("webhooks:manage") && <Channels />}
    </>
  );
}

function People() {
  const users = useQuery({
    queryKey: ["users"],
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/users"))).items,
  });
  return (
    <Panel title="People">
      <QueryState query={users} feature="People">
        {(items) => (
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <tr key={u.id}>
                  <th scope="row">{u.name}</th>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td>{u.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </Panel>
  );
}

function Units() {
  const units = useUnits();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: (body: Schemas["UnitCreate"]) => request(api.POST("/v1/units", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["units"] }),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    create.mutate(
      {
        name: String(data.get("name")),
        kind: String(data.get("kind")) as Schemas["UnitCreate"]["kind"],
        parent_id: String(data.get("parent")) || null,
      },
      { onSuccess: () => form.reset() },
    );
  }
  const names = new Map((units.data ?? []).map((u) => [u.id, u.name]));
  return (
    <Panel title="Units">
      <QueryState query={units}>
        {(items) => (
          <ul className="plain">
            {items.map((u) => (
              <li key={u.id}>
                {u.name} <span className="muted small">· {u.kind}{u.parent_id ? ` in ${names.get(u.parent_id)}` : ""}</span>
              </li>
            ))}
          </ul>
        )}
      </QueryState>
      <form className="stacked" onSubmit={submit} aria-label="New unit">
        <div className="row">
          <label>
            Name
            <input name="name" required />
          </label>
          <label>
            Kind
            <select name="kind" defaultValue="team">
              <option value="organization">Organisation</option>
              <option value="department">Department</option>
              <option value="team">Team</option>
              <option value="individual">Individual</option>
            </select>
          </label>
          <label>
            Parent
            <select name="parent" defaultValue="">
              <option value="">None</option>
              {(units.data ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <button type="submit">Add unit</button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}

function ApiKeys() {
  const client = useQueryClient();
  const keys = useQuery({
    queryKey: ["api-keys"],
    queryFn: async () => (await request(api.GET("/v1/api-keys"))).items,
  });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: Schemas["ApiKeyCreate"]) => request(api.POST("/v1/api-keys", { body })),
    onSuccess: (key) => {
      setSecret(key.key);
      void client.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) =>
      request(api.DELETE("/v1/api-keys/{key_id}", { params: { path: { key_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    create.mutate({
      name: String(data.get("name")),
      scopes: data.getAll("scope").map(String) as Schemas["ApiKeyCreate"]["scopes"],
    });
  }
  return (
    <Panel title="API keys">
      {secret && (
        <div className="secret" role="status">
          <p>
            <strong>Copy this key now; it is not shown again:</strong>
          </p>
          <code data-testid="new-key">{secret}</code>{" "}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <QueryState query={keys}>
        {(items) => (
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Revoke</th>
              </tr>
            </thead>
            <tbody>
              {items.map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name}</th>
                  <td className="mono">{k.prefix}…</td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>{formatDateTime(k.created_at)}</td>
                  <td>
                    {k.revoked_at ? (
                      "revoked"
                    ) : (
                      <button type="button" onClick={() => revoke.mutate(k.id)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
      <form className="stacked" onSubmit={submit} aria-label="New API key">
        <label>
          Name
          <input name="name" required />
        </label>
        <fieldset className="row">
          <legend>Scopes</legend>
          {(["read", "write", "events:write", "admin"] as const).map((s) => (
            <label key={s} className="checkbox">
              <input type="checkbox" name="scope" value={s} defaultChecked={s === "read"} /> {s}
            </label>
          ))}
        </fieldset>
        <button type="submit">Create key</button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}

function Webhooks() {
  const client = useQueryClient();
  const hooks = useQuery({
    queryKey: ["webhooks"],
    queryFn: async () => (await request(api.GET("/v1/webhooks"))).items,
  });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: Schemas["WebhookCreate"]) => request(api.POST("/v1/webhooks", { body })),
    onSuccess: (hook) => {
      setSecret((hook as { secret?: string }).secret ?? null);
      void client.invalidateQueries({ queryKey: ["webhooks"] });
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    create.mutate({
      url: String(data.get("url")),
      events: data.getAll("event").map(String) as Schemas["WebhookCreate"]["events"],
    });
  }
  return (
    <Panel title="Webhooks">
      {secret && (
        <div className="secret" role="status">
          <p>
            <strong>Signing secret (shown once):</strong> <code>{secret}</code>
          </p>
        </div>
      )}
      <QueryState query={hooks}>
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No webhooks.</p>
          ) : (
            <ul className="plain">
              {items.map((h) => (
                <li key={h.id}>
                  <span className="mono">{h.url}</span> <span className="muted small">· {h.events.join(", ")}</span>
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
      <form className="stacked" onSubmit={submit} aria-label="New webhook">
        <label>
          URL
          <input name="url" type="url" required />
        </label>
        <fieldset className="row">
          <legend>Events</legend>
          {["alert.opened", "alert.updated", "alert.acknowledged", "alert.resolved", "goal.status_changed"].map((e) => (
            <label key={e} className="checkbox">
              <input type="checkbox" name="event" value={e} defaultChecked /> {e}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}

function Channels() {
  const channels = useQuery({
    queryKey: ["channels"],
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/channels"))).items,
  });
  return (
    <Panel title="Notification channels">
      <QueryState query={channels} feature="Notification channels">
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No channels.</p>
          ) : (
            <ul className="plain">
              {items.map((c) => (
                <li key={c.id}>
                  {c.name} <span className="muted small">· {c.kind}</span>
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
    </Panel>
  );
}
