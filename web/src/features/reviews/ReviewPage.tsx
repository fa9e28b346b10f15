/**
 * Meeting mode: the previous review's open actions, then the goals that need attention
 * first, one at a time or all at once, with forms for decisions, actions (owner, due)
 * and target changes that cite this review.
 */
import { type FormEvent, useState } from "react";
import { Link, useParams } from "react-router";

import { useDirectory } from "@/shared/api/queries";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import { formatDate, formatDateTime, formatNumber, formatPercent } from "@/shared/lib/format";

import { agenda, attentionBeyondStatus, previousReview, type SnapshotItem, targetChange } from "./agenda";
import { useAddDecision, useReview, useReviews, useSetDecisionDone, useTargetChange } from "./api";
import { type GoalFacts, useGoalFacts } from "./facts";

export default function ReviewPage() {
  const { reviewId = "" } = useParams();
  const review = useReview(reviewId);
  return <QueryState query={review}>{(r) => <Meeting review={r} />}</QueryState>;
}

type Review = NonNullable<ReturnType<typeof useReview>["data"]>;

function Meeting({ review }: { review: Review }) {
  const reviews = useReviews();
  const { can } = useSession();
  const writable = can("org:write");
  const items = agenda(review.snapshot as SnapshotItem[]);
  const attention = items.filter((i) => i.why);
  const previous = previousReview(review, reviews.data ?? []);
  const openActions = previous?.decisions.filter((d) => d.kind === "action" && !d.done) ?? [];
  const setDone = useSetDecisionDone(review.id);
  const { facts } = useGoalFacts();

  return (
    <article>
      <p className="breadcrumb">
        <Link to="/reviews">Reviews</Link>
      </p>
      <div className="page-head">
        <h1>{review.title}</h1>
        <Link className="button" to={`/reviews/${review.id}/pack`}>
          Review pack (print)
        </Link>
      </div>
      <p className="muted">
        Held {formatDateTime(review.held_at)} · {review.snapshot.length} goals in scope ·{" "}
        {attention.length} need attention
        {review.participants.length > 0 && ` · ${review.participants.join(", ")}`}
      </p>
      <Panel title="Actions from the previous review">
        {previous === null ? (
          <p className="muted">This is the first review of this scope.</p>
        ) : openActions.length === 0 ? (
          <p className="muted">
            Every action from “{previous.title}” ({formatDate(previous.held_at)}) is done.
          </p>
        ) : (
          <ul className="plain">
            {openActions.map((d) => (
              <li key={d.id}>
                <label className="checkbox">
                  <input
                    type="checkbox"
                    disabled={!writable}
                    onChange={(e) => setDone.mutate({ reviewOf: previous.id, id: d.id, done: e.target.checked })}
                  />
                  {d.text} {d.owner && `· ${d.owner}`} {d.due && `· due ${formatDate(d.due)}`}
                </label>
              </li>
            ))}
          </ul>
        )}
      </Panel>
      <Panel title="Goals, those needing attention first">
        <ol className="agenda">
          {items.map(({ item, why }) => (
            <AgendaItem
              key={item.goal_id}
              review={review}
              item={item}
              why={why}
              facts={facts(item.goal_id)}
              writable={writable}
            />
          ))}
        </ol>
      </Panel>
      <Panel title="Decisions and actions">
        <Decisions review={review} />
        {writable && <DecisionForm review={review} goalId={null} />}
      </Panel>
    </article>
  );
}

function AgendaItem({
  review,
  item,
  why,
  facts,
  writable,
}: {
  review: Review;
  item: SnapshotItem;
  why: string | null;
  facts: GoalFacts;
  writable: boolean;
}) {
  const [open, setOpen] = useState(false);
  const beyond = attentionBeyondStatus(item);
  const unit = facts.measure;
  return (
    <li className={why ? "attention" : ""} data-goal-id={item.goal_id}>
      <div className="agenda-head">
        <Link to={`/goals/${item.goal_id}`}>{item.title}</Link>
        <StatusBadge status={item.status} />
        {beyond && <span className="warn-text small">{beyond}</span>}
        <span className="muted small">
          score {formatPercent(item.score)} · actual {formatNumber(item.actual, unit)} / expected{" "}
          {formatNumber(item.expected, unit)} / target {formatNumber(item.target, unit)}
          {facts.owner && ` · ${facts.owner}`}
        </span>
        {writable && (
          <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Close" : "Decide"}
          </button>
        )}
      </div>
      {open && (
        <div className="agenda-forms">
          <DecisionForm review={review} goalId={item.goal_id} />
          <TargetChangeForm review={review} item={item} facts={facts} />
        </div>
      )}
    </li>
  );
}

function Decisions({ review }: { review: Review }) {
  const titles = new Map(review.snapshot.map((s) => [s.goal_id, s.title]));
  if (review.decisions.length === 0) return <p className="muted">Nothing recorded yet.</p>;
  return (
    <ul className="plain decisions" data-testid="decisions">
      {review.decisions.map((d) => (
        <li key={d.id}>
          <span className="badge">{d.kind.replace("_", " ")}</span> {d.text}
          {d.goal_id && <span className="muted"> · {titles.get(d.goal_id) ?? "goal"}</span>}
          {d.owner && <span className="muted"> · {d.owner}</span>}
          {d.due && <span className="muted"> · due {formatDate(d.due)}</span>}
        </li>
      ))}
    </ul>
  );
}

function DecisionForm({ review, goalId }: { review: Review; goalId: string | null }) {
  const add = useAddDecision(review.id);
  const people = useDirectory();
  const names = [...new Set(people.data?.values() ?? [])].sort((a, b) => a.localeCompare(b));
  const [kind, setKind] = useState<"decision" | "action">("decision");
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const due = String(data.get("due") ?? "");
    add.mutate(
      {
        kind,
        text: String(data.get("text")),
        owner: String(data.get("owner") ?? "") || null,
        due: due ? new Date(`${due}T17:00:00Z`).toISOString() : null,
        goal_id: goalId,
        done: false,
      },
      { onSuccess: () => form.reset() },
    );
  }
  return (
    <form className="stacked" onSubmit={submit} aria-label={goalId ? "Decision on this goal" : "New decision"}>
      <fieldset className="row">
        <legend>Record</legend>
        <label className="checkbox">
          <input type="radio" name="kind" checked={kind === "decision"} onChange={() => setKind("decision")} />
          Decision
        </label>
        <label className="checkbox">
          <input type="radio" name="kind" checked={kind === "action"} onChange={() => setKind("action")} />
          Action
        </label>
      </fieldset>
      <label>
        Text
        <input name="text" required />
      </label>
      {kind === "action" && (
        <div className="row">
          <label>
            Owner
            <select name="owner" required defaultValue="">
              <option value="" disabled>
                Choose a person
              </option>
              {names.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          <label>
            Due
            <input name="due" type="date" />
          </label>
        </div>
      )}
      <button type="submit" disabled={add.isPending}>
        Record {kind}
      </button>
      {add.error && <ErrorMessage error={add.error} />}
    </form>
  );
}

function TargetChangeForm({ review, item, facts }: { review: Review; item: SnapshotItem; facts: GoalFacts }) {
  const change = useTargetChange(review.id);
  // The field shows the goal's target as it is now, and after a change the new one.
  const current = facts.currentTarget ?? item.target;
  const [target, setTarget] = useState<string>(current === null ? "" : String(current));
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string | null>(null);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const to = Number(target);
    change.mutate(
      { goalId: item.goal_id, goalTitle: item.title, target: to, reason, from: current, unit: facts.measure },
      {
        onSuccess: () => {
          setDone(targetChange(current, to, facts.measure));
          setReason("");
        },
      },
    );
  }
  return (
    <form className="stacked" onSubmit={submit} aria-label="Change the target">
      <div className="row">
        <label>
          New target
          <input
            name="target"
            type="number"
            step="any"
            required
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          />
          {facts.measure && <span className="muted small"> {facts.measure}</span>}
        </label>
        <label>
          Reason
          <input name="reason" required value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
      </div>
      <button type="submit" disabled={change.isPending}>
        Change target
      </button>
      {change.error && <ErrorMessage error={change.error} />}
      {change.isSuccess && done && (
        <p role="status" className="ok-text">
          Target changed: {done}; recorded in this review.
        </p>
      )}
    </form>
  );
}
