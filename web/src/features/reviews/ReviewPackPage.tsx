/**
 * The review pack: one printable document (print stylesheet in styles.css) with the
 * scope's goals as frozen in the snapshot — each with its org unit, owner, numbers in its
 * KPI's unit and a small chart of its actual against the expected pace — and the
 * decisions, actions and target changes. "Download PDF" is the browser's own print dialog
 * (Save as PDF): the pack is rendered once, by the page people already see, and the api
 * needs no PDF library (docs/web.md).
 */
import { Link, useParams } from "react-router";

import { QueryState } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import { formatDate, formatDateTime, formatNumber, formatPercent, STATUS_LABEL } from "@/shared/lib/format";

import { agenda, attentionBeyondStatus, type SnapshotItem } from "./agenda";
import { useGoalHistory, useReview } from "./api";
import { type GoalFacts, useGoalFacts } from "./facts";
import { packChartPaths } from "./packChart";

export default function ReviewPackPage() {
  const { reviewId = "" } = useParams();
  const review = useReview(reviewId);
  const { ready, facts } = useGoalFacts();
  return (
    <QueryState query={review}>
      {(r) => {
        const items = agenda(r.snapshot as SnapshotItem[]);
        const titles = new Map(r.snapshot.map((s) => [s.goal_id, s.title]));
        const counts = new Map<string, number>();
        for (const s of r.snapshot) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
        return (
          <article className="pack" data-testid="review-pack" data-ready={ready}>
            <p className="no-print">
              <Link to={`/reviews/${r.id}`}>Back to the meeting</Link>{" "}
              <button type="button" className="primary" onClick={() => window.print()}>
                Download PDF
              </button>{" "}
              <span className="muted small">(your browser's print dialog: choose “Save as PDF”)</span>
            </p>
            <header>
              <p className="muted">Northstar review pack</p>
              <h1>{r.title}</h1>
              <p>
                Held {formatDateTime(r.held_at)}
                {r.participants.length > 0 && ` · Participants: ${r.participants.join(", ")}`}
              </p>
              <p>
                {r.snapshot.length} goals:{" "}
                {[...counts.entries()].map(([s, n]) => `${n} ${STATUS_LABEL[s as keyof typeof STATUS_LABEL].toLowerCase()}`).join(", ")}
              </p>
              {r.notes && <p>{r.notes}</p>}
            </header>
            <section aria-labelledby="pack-goals">
              <h2 id="pack-goals">Goals</h2>
              <ol className="pack-goals plain">
                {items.map(({ item }) => {
                  const f = facts(item.goal_id);
                  const beyond = attentionBeyondStatus(item);
                  return (
                    <li key={item.goal_id} className="pack-goal" data-goal-id={item.goal_id}>
                      <div>
                        <h3>
                          {item.title} <StatusBadge status={item.status} />
                          {beyond && <span className="small warn-text"> ({beyond})</span>}
                        </h3>
                        <p className="small">
                          Unit: {f.unitName ?? "–"} · Owner: {f.owner ?? "–"}
                        </p>
                        <p className="small">
                          Score {formatPercent(item.score)} · actual {formatNumber(item.actual, f.measure)} · expected{" "}
                          {formatNumber(item.expected, f.measure)} · target {formatNumber(item.target, f.measure)}
                          {item.forecast &&
                            ` · forecast: ${item.forecast.status === "likely_achieved" ? "likely achieved" : "likely missed"} (${formatNumber(item.forecast.value, f.measure)})`}
                        </p>
                      </div>
                      <PackChart item={item} facts={f} />
                    </li>
                  );
                })}
              </ol>
              <p className="small muted">
                Charts: actual (solid) against the expected pace (dashed) and the target (dotted), from the goal's
                status history.
              </p>
            </section>
            <section aria-labelledby="pack-decisions">
              <h2 id="pack-decisions">Decisions, actions and target changes</h2>
              {r.decisions.length === 0 ? (
                <p>None recorded.</p>
              ) : (
                <ol>
                  {r.decisions.map((d) => (
                    <li key={d.id}>
                      <strong>{d.kind.replace("_", " ")}:</strong> {d.text}
                      {d.goal_id && ` (goal: ${titles.get(d.goal_id) ?? d.goal_id})`}
                      {d.owner && ` · owner ${d.owner}`}
                      {d.due && ` · due ${formatDate(d.due)}`}
                      {d.done && " · done"}
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </article>
        );
      }}
    </QueryState>
  );
}

const WIDTH = 200;
const HEIGHT = 56;

function PackChart({ item, facts }: { item: SnapshotItem; facts: GoalFacts }) {
  const history = useGoalHistory(item.goal_id);
  if (history.data === undefined)
    return (
      <span className="pack-chart muted small" data-rendered={history.isError}>
        {history.isError ? "no chart" : "…"}
      </span>
    );
  const paths = packChartPaths(
    {
      history: history.data,
      start: facts.start,
      due: facts.due,
      baseline: facts.baseline,
      target: item.target,
      actual: item.actual,
      at: item.evaluated_at,
    },
    WIDTH,
    HEIGHT,
  );
  if (paths === null)
    return (
      <span className="pack-chart muted small" data-rendered="true">
        no chart: no dates or values yet
      </span>
    );
  const target = item.target !== null ? ` and the target of ${formatNumber(item.target, facts.measure)}` : "";
  return (
    <svg
      className="pack-chart"
      data-rendered="true"
      width={WIDTH}
      height={HEIGHT}
      role="img"
      aria-label={`Chart of ${item.title}: actual against the expected pace${target}`}
    >
      {paths.target && <path d={paths.target} fill="none" stroke="#6b7280" strokeWidth="1" strokeDasharray="1 2" />}
      {paths.expected && (
        <path d={paths.expected} fill="none" stroke="#6b7280" strokeWidth="1.2" strokeDasharray="4 3" />
      )}
      {paths.actual && <path d={paths.actual} fill="none" stroke="#1d4ed8" strokeWidth="1.6" />}
      {paths.last && <circle cx={paths.last[0]} cy={paths.last[1]} r="2.5" fill="#1d4ed8" />}
    </svg>
  );
}
