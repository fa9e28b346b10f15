/**
 * Unit memberships: who leads or belongs to each unit (admins, editors and unit leads).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { useDirectory, useUnits } from "@/shared/api/queries";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

import { addableMembers } from "./people";

export default function MembershipsPanel() {
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
