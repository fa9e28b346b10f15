/**
 * Units: the organisation tree (admins and editors).
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { useUnits } from "@/shared/api/queries";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

export default function UnitsPanel() {
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
