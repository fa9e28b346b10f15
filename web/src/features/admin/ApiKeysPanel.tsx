/**
 * API keys: create (the secret is shown once), list and revoke (admins).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { formatDateTime } from "@/shared/lib/format";

export default function ApiKeysPanel() {
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
