/**
 * The review pack: one printable document (print stylesheet in styles.css) with the
 * scope's goals as frozen in the snapshot, the decisions, actions and target changes.
 * "Print / Save as PDF" is the browser's own print dialog.
 */
import { Link, useParams } from "react-router";

import { QueryState } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import { formatDate, formatDateTime, formatNumber, formatPercent, STATUS_LABEL } from "@/shared/lib/format";

import { agenda, type SnapshotItem } from "./agenda";
import { useReview } from "./api";

export default function ReviewPackPage() {
  const { reviewId = "" } = useParams();
  const review = useReview(reviewId);
  return (
    <QueryState query={review}>
      {(r) => {
        const items = agenda(r.snapshot as SnapshotItem[]);
        const titles = new Map(r.snapshot.map((s) => [s.goal_id, s.title]));
        const counts = new Map<string, number>();
        for (const s of r.snapshot) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
        return (
          <article className="pack" data-testid="review-pack">
            <p className="no-print">
              <Link to={`/reviews/${r.id}`}>Back to the meeting</Link>{" "}
              <button type="button" className="primary" onClick={() => window.print()}>
                Print / Save as PDF
              </button>
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
              <table>
                <thead>
                  <tr>
                    <th scope="col">Goal</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">Score</th>
                    <th scope="col" className="num">Actual</th>
                    <th scope="col" className="num">Expected</th>
                    <th scope="col" className="num">Target</th>
                    <th scope="col">Forecast</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map(({ item, why }) => (
                    <tr key={item.goal_id}>
                      <th scope="row">
                        {item.title}
                        {why && <span className="small warn-text"> ({why})</span>}
                      </th>
                      <td>
                        <StatusBadge status={item.status} />
                      </td>
                      <td className="num">{formatPercent(item.score)}</td>
                      <td className="num">{formatNumber(item.actual)}</td>
                      <td className="num">{formatNumber(item.expected)}</td>
                      <td className="num">{formatNumber(item.target)}</td>
                      <td>
                        {item.forecast
                          ? `${item.forecast.status === "likely_achieved" ? "likely achieved" : "likely missed"} (${formatNumber(item.forecast.value)})`
                          : "–"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
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
