/** Reviews: the list, and a form that opens a review of a scope (freezing its statuses). */
import type { FormEvent } from "react";
import { Link, useNavigate } from "react-router";

import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";
import { formatDate, formatDateTime } from "@/shared/lib/format";

import { useCreateReview, useGoalChoices, useReviews } from "./api";

export default function ReviewsPage() {
  const reviews = useReviews();
  const { can } = useSession();
  return (
    <>
      <h1>Reviews</h1>
      {can("org:write") && <NewReview />}
      <Panel title="Past reviews">
        <QueryState query={reviews}>
          {(items) =>
            items.length === 0 ? (
              <p className="muted">No reviews yet.</p>
            ) : (
              <ul className="plain">
                {items.map((r) => (
                  <li key={r.id}>
                    <Link to={`/reviews/${r.id}`}>{r.title}</Link>{" "}
                    <span className="muted">
                      · {formatDateTime(r.held_at)} · {r.snapshot.length} goals ·{" "}
                      {r.decisions.length} decisions
                    </span>
                  </li>
                ))}
              </ul>
            )
          }
        </QueryState>
      </Panel>
    </>
  );
}

function NewReview() {
  const goals = useGoalChoices();
  const create = useCreateReview();
  const navigate = useNavigate();
  const today = new Date();

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const participants = String(data.get("participants"))
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    create.mutate(
      {
        title: String(data.get("title")),
        scope_goal_id: String(data.get("scope")) || null,
        participants,
        notes: String(data.get("notes") ?? ""),
      },
      { onSuccess: (review) => navigate(`/reviews/${review.id}`) },
    );
  }

  return (
    <Panel title="New review">
      <form className="stacked" onSubmit={submit} aria-label="New review">
        <label>
          Title
          <input name="title" required defaultValue={`Performance review ${formatDate(today.toISOString())}`} />
        </label>
        <label>
          Scope
          <select name="scope" defaultValue="">
            <option value="">Whole organisation (every goal)</option>
            {(goals.data ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Participants (comma-separated)
          <input name="participants" />
        </label>
        <label>
          Notes
          <textarea name="notes" rows={2} />
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          Start the review
        </button>
        {create.error && <ErrorMessage error={create.error} />}
      </form>
    </Panel>
  );
}
