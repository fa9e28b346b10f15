/**
 * Cycles (FY2027, 2027-Q1 …) and carrying goals forward into the next one (SPEC §12):
 * everyone reads the list; editors and administrators add and delete cycles and carry a
 * cycle's goals (whole subtrees, open initiatives along) into another, optionally with
 * their targets scaled.
 */
import { type FormEvent, useState } from "react";
import { Link } from "react-router";

import { useCycles, useGoalTree, type GoalNode } from "@/shared/api/queries";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { formatDate } from "@/shared/lib/format";

import { useCarryForward, useCreateCycle, useDeleteCycle } from "./api";

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The goals of a cycle whose parent is not in it: the roots carry-forward takes. */
function cycleRoots(nodes: GoalNode[], cycleId: string): GoalNode[] {
  const found: GoalNode[] = [];
  const walk = (list: GoalNode[], parentIn: boolean) => {
    for (const n of list) {
      const inCycle = n.cycle_id === cycleId;
      if (inCycle && !parentIn) found.push(n);
      walk(n.children, inCycle);
    }
  };
  walk(nodes, false);
  return found;
}

export default function CyclesPage() {
  const cycles = useCycles();
  const { can } = useSession();
  const mayManage = can("org:write");
  const remove = useDeleteCycle();
  const [asking, setAsking] = useState<string | null>(null);
  return (
    <>
      <h1>Cycles</h1>
      <QueryState query={cycles}>
        {(items) =>
          items.length === 0 ? (
            <p className="empty">
              No cycles yet.{" "}
              {mayManage
                ? "Add the first below (a quarter or a year); goals created in it take its dates."
                : "An editor or an administrator adds them."}
            </p>
          ) : (
            <div className="table-scroll" tabIndex={0} role="region" aria-label="Cycles table">
              <table data-testid="cycles">
                <thead>
                  <tr>
                    <th scope="col">Cycle</th>
                    <th scope="col">Start</th>
                    <th scope="col">Due</th>
                    {mayManage && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {items.map((c) => (
                    <tr key={c.id}>
                      <th scope="row">
                        <Link to={`/?cycle=${c.id}`}>{c.name}</Link>
                      </th>
                      <td>{formatDate(c.start)}</td>
                      <td>{formatDate(c.due)}</td>
                      {mayManage && (
                        <td>
                          {asking === c.id ? (
                            <span role="group" aria-label={`Delete cycle ${c.name}?`} className="confirm">
                              <button type="button" onClick={() => remove.mutate(c.id, { onSuccess: () => setAsking(null) })}>
                                Delete cycle
                              </button>{" "}
                              <button type="button" autoFocus onClick={() => setAsking(null)}>
                                Keep it
                              </button>
                            </span>
                          ) : (
                            <button type="button" onClick={() => setAsking(c.id)} aria-label={`Delete ${c.name}`}>
                              Delete
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryState>
      {remove.error && <ErrorMessage error={remove.error} />}
      {mayManage && <NewCycle />}
      {mayManage && (cycles.data?.length ?? 0) >= 2 && <CarryForward cycles={cycles.data ?? []} />}
    </>
  );
}

function NewCycle() {
  const create = useCreateCycle();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    create.mutate(
      {
        name: String(data.get("name")).trim(),
        start: `${String(data.get("start"))}T00:00:00Z`,
        due: `${String(data.get("due"))}T23:59:59Z`,
      },
      { onSuccess: () => form.reset() },
    );
  }
  return (
    <Panel title="New cycle">
      <form className="stacked" aria-label="New cycle" onSubmit={submit}>
        <label>
          Name
          <input name="name" required maxLength={100} placeholder="2027-Q1" />
        </label>
        <div className="row">
          <label>
            Start
            <input name="start" type="date" required />
          </label>
          <label>
            Due
            <input name="due" type="date" required />
          </label>
        </div>
        <button type="submit" className="primary" disabled={create.isPending}>
          Add cycle
        </button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}

function CarryForward({ cycles }: { cycles: { id: string; name: string }[] }) {
  const tree = useGoalTree();
  const carry = useCarryForward();
  const [from, setFrom] = useState(cycles[0]!.id);
  const [into, setInto] = useState(cycles[1]!.id);
  const roots = cycleRoots(tree.data ?? [], from);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const factor = String(data.get("factor") ?? "").trim();
    carry.mutate({
      from,
      body: {
        into_cycle_id: into,
        goal_ids: data.getAll("goal_ids").map(String),
        target_factor: factor ? Number(factor) / 100 : null,
      },
    });
  }
  return (
    <Panel title="Carry goals forward">
      <form className="stacked" aria-label="Carry goals forward" onSubmit={submit}>
        <div className="row">
          <label>
            From cycle
            <select value={from} onChange={(e) => setFrom(e.target.value)}>
              {cycles.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Into cycle
            <select value={into} onChange={(e) => setInto(e.target.value)}>
              {cycles.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Targets at (%)
            <input name="factor" type="number" step="any" min={1} placeholder="100" />
          </label>
        </div>
        {roots.length === 0 ? (
          <p className="muted">This cycle has no goals to carry.</p>
        ) : (
          <fieldset>
            <legend>Goals (each with every goal below it and its open initiatives)</legend>
            {roots.map((g) => (
              <label key={g.id} className="checkbox">
                <input type="checkbox" name="goal_ids" value={g.id} defaultChecked /> {g.title}
              </label>
            ))}
          </fieldset>
        )}
        <button type="submit" className="primary" disabled={carry.isPending || roots.length === 0 || from === into}>
          Carry forward
        </button>
        {carry.error && <ErrorMessage error={carry.error} />}
        {carry.data && (
          <p role="status" className="ok-text">
            Carried {plural(carry.data.goals.length, "goal")} and{" "}
            {plural(carry.data.initiatives.length, "open initiative")}.
          </p>
        )}
      </form>
    </Panel>
  );
}
