/**
 * People: create, invite with a one-time link, change role, deactivate (admins).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

import { invitationLink } from "./people";

const ROLES = ["admin", "editor", "member", "viewer"] as const;

export default function PeoplePanel() {
  const client = useQueryClient();
  const users = useQuery({
    queryKey: ["users"],
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/users", { params: { query: { limit: 1000 } } }))).items,
  });
  const [invited, setInvited] = useState<{ name: string; token: string } | null>(null);
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["users"] });
    void client.invalidateQueries({ queryKey: ["people"] });
  };
  const create = useMutation({
    mutationFn: (body: Schemas["UserCreate"]) => request(api.POST("/v1/users", { body })),
    onSuccess: (user) => {
      if (user.invitation) setInvited({ name: user.name, token: user.invitation.token });
      refresh();
    },
  });
  const invite = useMutation({
    mutationFn: (user: { id: string; name: string }) =>
      request(api.POST("/v1/users/{user_id}/invitation", { params: { path: { user_id: user.id } } })).then(
        (inv) => ({ name: user.name, token: inv.token }),
      ),
    onSuccess: setInvited,
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas["UserUpdate"] }) =>
      request(api.PATCH("/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: refresh,
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    create.mutate(
      {
        email: String(data.get("email")),
        name: String(data.get("name")),
        role: String(data.get("role")) as Schemas["UserCreate"]["role"],
      },
      { onSuccess: () => form.reset() },
    );
  }
  return (
    <Panel title="People">
      {invited && (
        <div className="secret" role="status">
          <p>
            <strong>Invitation for {invited.name} (shown once; send them this link):</strong>
          </p>
          <code data-testid="invitation-link">{invitationLink(window.location.origin, invited.token)}</code>{" "}
          <button type="button" onClick={() => setInvited(null)}>
            Done
          </button>
        </div>
      )}
      <QueryState query={users} feature="People">
        {(items) => (
          <table className="compact" data-testid="people">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Invitation</th>
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <tr key={u.id}>
                  <th scope="row">{u.name}</th>
                  <td>{u.email}</td>
                  <td>
                    <select
                      aria-label={`Role of ${u.name}`}
                      value={u.role}
                      onChange={(e) =>
                        update.mutate({ id: u.id, body: { role: e.target.value as Schemas["Role"] } })
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <select
                      aria-label={`Status of ${u.name}`}
                      value={u.status}
                      onChange={(e) => update.mutate({ id: u.id, body: { status: e.target.value } })}
                    >
                      <option value="active">active</option>
                      <option value="deactivated">deactivated</option>
                    </select>
                  </td>
                  <td>
                    <button type="button" onClick={() => invite.mutate(u)} aria-label={`Invite ${u.name}`}>
                      Invite
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
      {update.error && <ErrorMessage error={update.error} />}
      {invite.error && <ErrorMessage error={invite.error} />}
      <form className="stacked" onSubmit={submit} aria-label="New person">
        <div className="row">
          <label>
            Name
            <input name="name" required />
          </label>
          <label>
            Email
            <input name="email" type="email" required />
          </label>
          <label>
            Role
            <select name="role" defaultValue="member">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        </div>
        <button type="submit">Add and invite</button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}

/** Unit memberships, for every unit the caller may manage (admins, editors, leads). */
