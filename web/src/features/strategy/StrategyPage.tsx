/**
 * A simple strategy map: the organisation's vision, mission and values (SPEC §12), and
 * its top goals in one column per perspective, each linking to its subtree.
 */
import { Link } from "react-router";

import { type GoalNode, useGoalTree, useUnits } from "@/shared/api/queries";
import { Panel, QueryState } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import { formatPercent } from "@/shared/lib/format";

const PERSPECTIVES: [string, string][] = [
  ["financial", "Financial"],
  ["customer", "Customer"],
  ["internal_process", "Internal process"],
  ["learning_growth", "Learning and growth"],
];

/** The goals a strategy map shows: the top-level goals and the goals right below them. */
function topGoals(roots: GoalNode[]): GoalNode[] {
  return roots.flatMap((root) => [root, ...root.children]);
}

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
        {(roots) => {
          const goals = topGoals(roots);
          const known = new Set(PERSPECTIVES.map(([k]) => k));
          const extra = [...new Set(goals.map((g) => g.perspective).filter((p): p is string => !!p && !known.has(p)))];
          const columns: [string, string][] = [
            ...PERSPECTIVES,
            ...extra.map((p): [string, string] => [p, p]),
            ["", "No perspective"],
          ];
          return (
            <div className="strategy-map">
              {columns.map(([key, label]) => {
                const inColumn = goals.filter((g) => (g.perspective ?? "") === key);
                if (key === "" && inColumn.length === 0) return null;
                return (
                  <section key={key || "none"} className="perspective" aria-label={label}>
                    <h2>{label}</h2>
                    {inColumn.length === 0 ? (
                      <p className="muted small">No goals.</p>
                    ) : (
                      <ul className="plain">
                        {inColumn.map((g) => (
                          <li key={g.id} className="strategy-goal">
                            <Link to={`/goals/${g.id}`}>{g.title}</Link>
                            <div>
                              <StatusBadge status={g.status.status} />{" "}
                              <span className="muted small">
                                {formatPercent(g.status.score)} · {g.children.length} below
                              </span>
                            </div>
                          </li>
                        ))}
                      </ul>
                    )}
                  </section>
                );
              })}
            </div>
          );
        }}
      </QueryState>
    </>
  );
}
