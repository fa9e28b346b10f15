/**
 * Webhooks: endpoints that receive Northstar's events (admins).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

export default function WebhooksPanel() {
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
          {["alert.opened", "alert.updated", "alert.acknowledged", "alert.resolved", "goal.status_changed", "review.created"].map((e) => (
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

/**
 * Notification channels: unit (team) channels are created and deleted here by those the
 * api lets manage them (editors and admins for any unit, a lead for the units of their
 * subtree); a person's own channels are theirs to manage on their Notifications page.
 */
