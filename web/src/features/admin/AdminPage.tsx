/**
 * Administration: people (create, invite with a one-time link, role, deactivate), unit
 * memberships (admins, editors and unit leads), units, API keys (the secret shown once),
 * webhooks and notification channels (unit channels created and deleted by editors, admins
 * and the unit's leads). Each section appears only to those who may use it; sections
 * whose api has not landed say so.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";

import { api, request, type Schemas } from "@/shared/api/client";
import { useDirectory, useUnits } from "@/shared/api/queries";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { ChannelDelete, ChannelForm } from "@/shared/components/Channels";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { channelKind } from "@/shared/lib/channels";
import { formatDateTime } from "@/shared/lib/format";

import { channelUnits, unitChannelRows } from "./channels";
import { addableMembers, invitationLink } from "./people";

export default function AdminPage() {
  const { can } = useSession();
  const any =
    can("people:manage") || can("members:manage") || can("org:write") || can("keys:manage") || can("webhooks:manage");
  if (!any) {
    return (
      <>
        <h1>Administration</h1>
        <p data-testid="no-access">
          You have no access to administration: it is for administrators, editors and unit leads.
          Ask an administrator if you need to manage people, units or channels.{" "}
          <Link to="/">Back to the scorecard</Link>.
        </p>
      </>
    );
  }
  return (
    <>
      <h1>Administration</h1>
      {can("people:manage") && <People />}
      {can("members:manage") && <Memberships />}
      {can("org:write") && <Units />}
      {can("keys:manage") && <ApiKeys />}
      {can("webhooks:manage") && <Webhooks />}
      {(can("org:write") || can("members:manage")) && <Channels />}
    </>
  );
}

const ROLES = ["admin", "editor", "member", "viewer"] as const;

function People() {
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
function Memberships() {
  const units = useUnits();
  const { can } = useSession();
  const all = units.data ?? [];
  const managed = all.filter((u) => can("members:manage", { units: unitAndAncestors(u.id, all) }));
  const [unitId, setUnitId] = useState<string>("");
  const current = managed.find((u) => u.id === unitId) ?? managed[0];
  return (
    <Panel title="Unit members">
      <QueryState query={units}>
        {() =>
          current ? (
            <>
              <label htmlFor="members-unit">Unit</label>{" "}
              <select id="members-unit" value={current.id} onChange={(e) => setUnitId(e.target.value)}>
                  {managed.map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.name}
                    </option>
                  ))}
              </select>
              <UnitMembers unitId={current.id} unitName={current.name} />
            </>
          ) : (
            <p className="muted">You manage no unit's members.</p>
          )
        }
      </QueryState>
    </Panel>
  );
}

function UnitMembers({ unitId, unitName }: { unitId: string; unitName: string }) {
  const client = useQueryClient();
  const directory = useDirectory();
  const members = useQuery({
    queryKey: ["members", unitId],
    queryFn: () => request(api.GET("/v1/units/{unit_id}/members", { params: { path: { unit_id: unitId } } })),
  });
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["members", unitId] });
  };
  const put = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Schemas["MembershipSet"]["role"] }) =>
      request(
        api.PUT("/v1/units/{unit_id}/members/{user_id}", {
          params: { path: { unit_id: unitId, user_id: userId } },
          body: { role },
        }),
      ),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      request(
        api.DELETE("/v1/units/{unit_id}/members/{user_id}", {
          params: { path: { unit_id: unitId, user_id: userId } },
        }),
      ),
    onSuccess: refresh,
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const userId = String(data.get("user"));
    if (userId) put.mutate({ userId, role: String(data.get("role")) as Schemas["MembershipSet"]["role"] });
  }
  const candidates = addableMembers(directory.data ?? new Map<string, string>(), members.data ?? []);
  return (
    <>
      <QueryState query={members}>
        {(items) =>
          items.length === 0 ? (
            <p className="muted">{unitName} has no members.</p>
          ) : (
            <table className="compact" data-testid="members">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role in {unitName}</th>
                  <th scope="col">Remove</th>
                </tr>
              </thead>
              <tbody>
                {items.map((m) => (
                  <tr key={m.user_id}>
                    <th scope="row">{m.name}</th>
                    <td>
                      <select
                        aria-label={`Role of ${m.name} in ${unitName}`}
                        value={m.role}
                        onChange={(e) =>
                          put.mutate({ userId: m.user_id, role: e.target.value as Schemas["MembershipSet"]["role"] })
                        }
                      >
                        <option value="lead">lead</option>
                        <option value="member">member</option>
                      </select>
                    </td>
                    <td>
                      <button type="button" onClick={() => remove.mutate(m.user_id)} aria-label={`Remove ${m.name} from ${unitName}`}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
      <form className="stacked" onSubmit={submit} aria-label={`Add a member to ${unitName}`}>
        <div className="row">
          <label>
            Person
            <select name="user" required defaultValue="">
              <option value="">Choose…</option>
              {candidates.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Role
            <select name="role" defaultValue="member">
              <option value="member">member</option>
              <option value="lead">lead</option>
            </select>
          </label>
        </div>
        <button type="submit">Add member</button>
      </form>
      {put.error && <ErrorMessage error={put.error} />}
      {remove.error && <ErrorMessage error={remove.error} />}
    </>
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
function Channels() {
  const { can } = useSession();
  const units = useUnits();
  const channels = useQuery({
    queryKey: ["channels"],
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/channels", { params: { query: { limit: 1000 } } }))).items,
  });
  const all = units.data ?? [];
  const mayManage = (unitId: string) => can("members:manage", { units: unitAndAncestors(unitId, all) });
  const offered = channelUnits(all, mayManage);
  return (
    <Panel title="Notification channels">
      <QueryState query={channels} feature="Notification channels">
        {(items) => {
          const rows = unitChannelRows(items, all);
          const personal = items.length - rows.length;
          return (
            <>
              {rows.length === 0 ? (
                <p className="muted">No unit channels.</p>
              ) : (
                <table className="compact" data-testid="unit-channels">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Unit</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((c) => (
                      <UnitChannelRow key={c.id} channel={c} unitName={c.unitName} mayDelete={mayManage(c.owner.id)} />
                    ))}
                  </tbody>
                </table>
              )}
              <p className="muted small">
                {personal === 1 ? "1 personal channel" : `${personal} personal channels`}: each person manages theirs on
                their Notifications page.
              </p>
            </>
          );
        }}
      </QueryState>
      {offered.length > 0 && can("notifications:own") && (
        <>
          <h3>New unit channel</h3>
          <ChannelForm label="New unit channel" units={offered} />
        </>
      )}
    </Panel>
  );
}

function UnitChannelRow({
  channel,
  unitName,
  mayDelete,
}: {
  channel: Schemas["ChannelOut"];
  unitName: string;
  mayDelete: boolean;
}) {
  return (
    <tr data-channel-id={channel.id}>
      <th scope="row">{channel.name}</th>
      <td>{channelKind(channel.kind).label}</td>
      <td>{unitName}</td>
      <td>
        {mayDelete && (
          <ChannelDelete channel={channel} consequence={`${unitName} stops hearing through it: its subscriptions and digests go with it.`} />
        )}
      </td>
    </tr>
  );
}
