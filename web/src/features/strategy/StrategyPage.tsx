/**
 * The strategy map: the organisation's vision, mission and values (SPEC §12), and every
 * goal in one column per perspective (its own, or its parent's when it has none; map.ts),
 * each linking to its page.
 */
import { Link } from "react-router";

import { useGoalTree, useUnits } from "@/shared/api/queries";
import { Panel, QueryState } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import { formatPercent } from "@/shared/lib/format";

import { strategyMap } from "./map";

export default function StrategyPage() {
  const units = useUnits();
  const tree = useGoalTree();
  const organisation = units.data?.find((u) => u.kind === "organization");
  return (
    <>
      <h1>Strategy</h1>
      <Panel title={organisation?.name ?? "Organisation"}>
        {organisation?.vision || organisation?.mission || organisation?.values?.length ? (
          <dl className="strategy-statements">
            {organisation.vision && (
              <div>
                <dt>Vision</dt>
                <dd>{organisation.vision}</dd>
              </div>
            )}
            {organisation.mission && (
              <div>
                <dt>Mission</dt>
                <dd>{organisation.mission}</dd>
              </div>
            )}
            {organisation.values && organisation.values.length > 0 && (
              <div>
                <dt>Values</dt>
                <dd>
                  <ul className="tags">
                    {organisation.values.map((v) => (
                      <li key={v}>{v}</li>
                    ))}
                  </ul>
                </dd>
              </div>
            )}
          </dl>
        ) : (
          <p className="muted">
            No vision, mission or values recorded for the organisation yet.
          </p>
        )}
      </Panel>
      <QueryState query={tree}>
        {(roots) => (
          <div className="strategy-map">
            {strategyMap(roots).map((column) => (
              <section key={column.key || "none"} className="perspective" aria-label={column.label}>
                <h2>{column.label}</h2>
                {column.goals.length === 0 ? (
                  <p className="muted small">No goals in this perspective yet.</p>
                ) : (
                  <ul className="plain">
                    {column.goals.map(({ goal, parentTitle, inherited }) => (
                      <li key={goal.id} className="strategy-goal" data-goal-id={goal.id}>
                        <Link to={`/goals/${goal.id}`}>{goal.title}</Link>
                        <div>
                          <StatusBadge status={goal.status.status} />{" "}
                          <span className="muted small">
                            {formatPercent(goal.status.score)}
                            {parentTitle && ` · under ${parentTitle}`}
                            {inherited && " (its parent's perspective)"}
                          </span>
                        </div>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            ))}
          </div>
        )}
      </QueryState>
    </>
  );
}
