/**
 * A goal: its chart, the status in words, the timeline, check-ins, initiatives, alerts,
 * the drivers behind the gap, and the edit form (which asks for a reason when the api
 * will). Panels for features this api lacks say so instead of failing.
 */
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { isUnavailable, type Schemas } from "@/shared/api/client";
import { type GoalNode, useDirectory, useGoalTree, useUnits } from "@/shared/api/queries";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { Chart } from "@/shared/components/Chart";
import { PersonPicker } from "@/shared/components/PersonPicker";
import { ErrorMessage, Panel, QueryState, Unavailable } from "@/shared/components/Feedback";
import { StatusBadge } from "@/shared/components/StatusBadge";
import {
  explainStatus,
  formatDate,
  formatDateTime,
  formatNumber,
  formatPercent,
  STATUS_LABEL,
} from "@/shared/lib/format";

import {
  useGoalAlertAction,
  useCheckIns,
  useCreateInitiative,
  useDrivers,
  useGoal,
  useGoalAlerts,
  useHistory,
  useInitiatives,
  useKpi,
  useKpiSeries,
  usePostCheckIn,
  useReviewsForChoice,
  useAncestors,
  useDeleteGoal,
  useUpdateGoal,
  useUpdateInitiative,
} from "./api";
import { chartOption, goalSeries } from "./chart";
import { checkInText, revisionChanges } from "./history";
import { endOfDayUtc, withMilestoneAdded } from "./initiatives";
import { stillOpenReason } from "./alerts";
import { MilestoneItem } from "./MilestoneItem";
import {
  type ChildRow,
  type ChildSort,
  childrenSentence,
  pullingDown,
  pullingSentence,
  scoreChartOption,
  sortChildren,
} from "./rollup";
import { driversHeadline, unreferencedNote, valueName } from "./drivers";
import type { GoalWithPlans } from "./types";

export function GoalPage() {
  const { goalId = "" } = useParams();
  const goal = useGoal(goalId);
  return (
    <QueryState query={goal}>
      {(g) => <Goal goal={g} />}
    </QueryState>
  );
}

function Goal({ goal }: { goal: GoalWithPlans }) {
  const { can } = useSession();
  const kpi = useKpi(goal.kpi);
  const unit = kpi.data?.unit;
  const units = useUnits();
  const directory = useDirectory();
  const ancestors = useAncestors(goal.parent_id);
  const subtree = useGoalTree(goal.id, !goal.kpi);
  const children = useMemo(() => childRows(subtree.data?.[0]?.children ?? []), [subtree.data]);
  const scope = {
    units: unitAndAncestors(goal.unit_id, units.data ?? []),
    ownerId: goal.owner_id,
  };
  return (
    <article className="goal-page">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/">Scorecard</Link>
        {(ancestors.data ?? []).map((a) => (
          <span key={a.id}>
            {" › "}
            <Link to={`/goals/${a.id}`}>{a.title}</Link>
          </span>
        ))}
      </nav>
      <div className="page-head">
        <h1>{goal.title}</h1>
        <StatusBadge status={goal.status.status} />
        {goal.archived_at && <span className="badge" data-testid="archived">Archived</span>}
      </div>
      <p className="explanation" data-testid="status-explanation">
        {rollupExplanation(goal, children)}
      </p>
      <dl className="facts">
        <div>
          <dt>Actual</dt>
          <dd>{formatNumber(goal.status.actual, unit)}</dd>
        </div>
        <div>
          <dt>Expected now</dt>
          <dd>{formatNumber(goal.status.expected, unit)}</dd>
        </div>
        <div>
          <dt>Target</dt>
          <dd>{formatNumber(goal.status.target ?? goal.target, unit)}</dd>
        </div>
        <div>
          <dt>Score</dt>
          <dd>{formatPercent(goal.status.score)}</dd>
        </div>
        <div>
          <dt>Progress</dt>
          <dd>{formatPercent(goal.status.progress)}</dd>
        </div>
        <div>
          <dt>Period</dt>
          <dd>
            {formatDate(goal.start)} – {formatDate(goal.due)}
          </dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd data-testid="owner">
            {goal.owner_id ? (directory.data?.get(goal.owner_id) ?? "…") : "Nobody yet"}
            {!goal.owner_id && goal.owner && (
              <span className="muted small" data-testid="owner-note">
                {" "}
                (noted as “{goal.owner}”, who is not a person in Northstar)
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>KPI</dt>
          <dd>{goal.kpi ? <Link to={`/kpis/${goal.kpi}`}>{kpi.data?.name ?? goal.kpi}</Link> : "Roll-up of its goals"}</dd>
        </div>
      </dl>
      {goal.description && <p>{goal.description}</p>}
      <div className="goal-grid">
        <div className="goal-main">
          {goal.kpi && <GoalChart goal={goal} unit={unit ?? ""} expression={kpi.data?.expression} />}
          {!goal.kpi && children.length > 0 && <SubGoalsPanel goal={goal} rows={children} />}
          <AlertsPanel goal={goal} canAct={can("goals:contribute", scope)} />
          {goal.kpi && <DriversPanel goal={goal} unit={unit} />}
          <CheckInsPanel goalId={goal.id} canPost={can("goals:contribute", scope)} />
          <InitiativesPanel
            goalId={goal.id}
            canEdit={can("goals:contribute", scope)}
            canCreate={can("goals:write", scope)}
          />
        </div>
        <div className="goal-side">
          {can("goals:write", scope) && <SetupPanel goal={goal} />}
          <TimelinePanel goalId={goal.id} unit={unit} />
          {can("goals:write", scope) && <EditPanel goal={goal} />}
        </div>
      </div>
    </article>
  );
}

function GoalChart({
  goal,
  unit,
  expression,
}: {
  goal: GoalWithPlans;
  unit: string;
  expression: string | undefined;
}) {
  const history = useHistory(goal.id);
  const series = useKpiSeries(goal.kpi, goal.start, goal.due);
  const option = useMemo(
    () =>
      chartOption(
        goalSeries(goal, history.data?.items ?? [], series.data?.points ?? [], expression, new Date()),
        unit,
      ),
    [goal, history.data, series.data, expression, unit],
  );
  return (
    <Panel title="Progress over the period">
      {history.isPending || series.isPending ? (
        <p className="muted">Loading the chart…</p>
      ) : (
        <Chart
          option={option}
          label={`Chart of ${goal.title}: actual, expected pace, target and forecast. ${explainStatus(goal)}`}
        />
      )}
    </Panel>
  );
}

function AlertsPanel({ goal, canAct }: { goal: GoalWithPlans; canAct: boolean }) {
  const goalId = goal.id;
  const alerts = useGoalAlerts(goalId);
  const action = useGoalAlertAction(goalId);
  const [notes, setNotes] = useState<Record<string, string>>({});
  return (
    <Panel title="Alerts">
      <QueryState query={alerts}>
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No open alerts.</p>
          ) : (
            <ul className="alert-list">
              {items.map((a) => (
                <li key={a.id} className={`alert severity-${a.severity}`} data-alert-id={a.id}>
                  <p>
                    <strong>{a.kind.replace("_", " ")}</strong> · {a.severity} ·{" "}
                    <span data-testid="alert-state">{a.state}</span> · opened{" "}
                    {formatDateTime(a.opened_at)}
                  </p>
                  {stillOpenReason(a.kind, goal) && (
                    <p className="muted small" data-testid="still-open">
                      {stillOpenReason(a.kind, goal)}
                    </p>
                  )}
                  {a.note && <p className="muted">Note: {a.note}</p>}
                  {canAct && (
                    <div className="inline-form">
                      <label>
                        Note
                        <input
                          value={notes[a.id] ?? ""}
                          onChange={(e) => setNotes({ ...notes, [a.id]: e.target.value })}
                        />
                      </label>
                      {a.state === "open" && (
                        <button
                          type="button"
                          onClick={() => action.mutate({ id: a.id, action: "ack", note: notes[a.id] ?? "" })}
                        >
                          Acknowledge
                        </button>
                      )}
                      <button
                        type="button"
                        onClick={() => action.mutate({ id: a.id, action: "resolve", note: notes[a.id] ?? "" })}
                      >
                        Resolve
                      </button>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
      {action.error && <ErrorMessage error={action.error} />}
    </Panel>
  );
}

/** What each value's reference is, in words (`reference_kind`, docs/analysis.md). */
const REFERENCE_IN_WORDS: Record<Schemas["DriversOut"]["reference_kind"], string> = {
  previous: "Each value is compared with itself in the previous period of the same length.",
  expected_by_history: "The expected value is shared among the values as the previous period was.",
  expected_by_peers:
    "No previous period yet: each value is held to what its peers do, so a value far below the others shows up first.",
};

function DriversPanel({ goal, unit }: { goal: GoalWithPlans; unit: string | undefined }) {
  const drivers = useDrivers(goal.id, true);
  return (
    <Panel title="What is driving this">
      <QueryState query={drivers} feature="Drivers">
        {(d) => {
          if (d.items.length === 0) return <p className="muted">No dimension explains the gap.</p>;
          const unreferenced = unreferencedNote(d, unit);
          return (
            <>
              <p data-testid="drivers-headline">{driversHeadline(d, unit, goal.type)}</p>
              <p className="muted small" data-testid="drivers-reference">
                {REFERENCE_IN_WORDS[d.reference_kind]}
              </p>
              <table className="compact stack-on-phone">
                <caption className="visually-hidden">The gap by {d.dimension}</caption>
                <thead>
                  <tr>
                    <th scope="col">{d.dimension}</th>
                    <th scope="col" className="num">Actual</th>
                    <th scope="col" className="num">Reference</th>
                    <th scope="col" className="num">Contribution</th>
                    <th scope="col" className="num">Share of gap</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((i) => (
                    <tr key={i.value}>
                      <th scope="row">{valueName(i.value, d.dimension)}</th>
                      <td className="num" data-label="Actual">{formatNumber(i.actual, unit)}</td>
                      <td className="num" data-label="Reference">
                        {i.reference === null ? "none" : formatNumber(i.reference, unit)}
                      </td>
                      <td className="num" data-label="Contribution">{formatNumber(i.contribution, unit)}</td>
                      <td className="num" data-label="Share of gap">{formatPercent(i.share_of_gap)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {unreferenced && <p className="muted small">{unreferenced}</p>}
            </>
          );
        }}
      </QueryState>
    </Panel>
  );
}

function CheckInsPanel({ goalId, canPost }: { goalId: string; canPost: boolean }) {
  const checkIns = useCheckIns(goalId);
  const post = usePostCheckIn(goalId);
  // After posting, focus moves to the new entry once the list shows it (not back to the top).
  const [posted, setPosted] = useState<string | null>(null);
  useEffect(() => {
    if (!posted) return;
    const entry = document.getElementById(`check-in-${posted}`);
    if (entry) {
      entry.focus();
      setPosted(null);
    }
  }, [posted, checkIns.data]);
  if (checkIns.error && isUnavailable(checkIns.error))
    return (
      <Panel title="Check-ins">
        <Unavailable feature="Check-ins" />
      </Panel>
    );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const value = String(data.get("value") ?? "");
    post.mutate(
      {
        comment: String(data.get("comment")),
        confidence: Number(data.get("confidence")),
        blockers: String(data.get("blockers") ?? ""),
        value: value === "" ? null : Number(value),
      },
      {
        onSuccess: (created) => {
          form.reset();
          setPosted(created.id);
        },
      },
    );
  }

  return (
    <Panel title="Check-ins">
      {canPost && (
        <form className="stacked" onSubmit={submit} aria-label="New check-in">
          <label>
            How is it going?
            <textarea name="comment" required rows={2} />
          </label>
          <div className="row">
            <label>
              Confidence (1–10)
              <input name="confidence" type="number" min={1} max={10} defaultValue={7} required />
            </label>
            <label>
              Value (manual KPIs)
              <input name="value" type="number" step="any" />
            </label>
          </div>
          <label>
            Blockers
            <input name="blockers" />
          </label>
          <button type="submit" className="primary" disabled={post.isPending}>
            Post check-in
          </button>
          {post.error && <ErrorMessage error={post.error} />}
        </form>
      )}
      <QueryState query={checkIns} feature="Check-ins">
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No check-ins yet.</p>
          ) : (
            <ol className="timeline" aria-label="Check-ins" tabIndex={0}>
              {items.map((c) => (
                <li key={c.id} id={`check-in-${c.id}`} tabIndex={-1} data-check-in-id={c.id}>
                  <p className="muted small">
                    {formatDateTime(c.at)} · {c.author ?? "someone"} · confidence {c.confidence}/10
                  </p>
                  <p>{c.comment}</p>
                  {c.blockers && <p className="warn-text">Blockers: {c.blockers}</p>}
                </li>
              ))}
            </ol>
          )
        }
      </QueryState>
    </Panel>
  );
}

function InitiativesPanel({ goalId, canEdit, canCreate }: { goalId: string; canEdit: boolean; canCreate: boolean }) {
  const initiatives = useInitiatives(goalId);
  const update = useUpdateInitiative();
  return (
    <Panel title="Initiatives">
      <QueryState query={initiatives} feature="Initiatives">
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No initiatives for this goal.</p>
          ) : (
            <ul className="plain" data-testid="initiatives">
              {items.map((i) => (
                <li key={i.id} className="initiative">
                  <p>
                    <strong>{i.title}</strong> · due {formatDate(i.due)} · {formatPercent(i.progress)} done
                    {i.budget && (
                      <>
                        {" "}
                        · budget {formatNumber(Number(i.budget.amount), i.budget.currency)}
                      </>
                    )}
                  </p>
                  {canEdit ? (
                    <label>
                      Status
                      <select
                        value={i.status}
                        onChange={(e) =>
                          update.mutate({ id: i.id, body: { status: e.target.value as never } })
                        }
                      >
                        {["planned", "in_progress", "blocked", "done", "cancelled"].map((s) => (
                          <option key={s} value={s}>
                            {s.replace("_", " ")}
                          </option>
                        ))}
                      </select>
                    </label>
                  ) : (
                    <p>Status: {i.status.replace("_", " ")}</p>
                  )}
                  {i.milestones.length > 0 && (
                    <ul aria-label={`Milestones of ${i.title}`}>
                      {i.milestones.map((m) => (
                        <MilestoneItem key={m.id} initiative={i} milestone={m} canEdit={canEdit} />
                      ))}
                    </ul>
                  )}
                  {canEdit && (
                    <form
                      className="row"
                      aria-label={`New milestone of ${i.title}`}
                      onSubmit={(event: FormEvent<HTMLFormElement>) => {
                        event.preventDefault();
                        const form = event.currentTarget;
                        const data = new FormData(form);
                        update.mutate(
                          {
                            id: i.id,
                            body: {
                              milestones: withMilestoneAdded(i.milestones, {
                                title: String(data.get("title")),
                                due: endOfDayUtc(String(data.get("due") ?? "")),
                              }),
                            },
                          },
                          { onSuccess: () => form.reset() },
                        );
                      }}
                    >
                      <label>
                        Milestone
                        <input name="title" required maxLength={200} />
                      </label>
                      <label>
                        Due
                        <input name="due" type="date" />
                      </label>
                      <button type="submit">Add milestone</button>
                    </form>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
      {update.error && <ErrorMessage error={update.error} />}
      {canCreate && <NewInitiative goalId={goalId} />}
    </Panel>
  );
}

function NewInitiative({ goalId }: { goalId: string }) {
  const create = useCreateInitiative();
  const directory = useDirectory();
  const people = [...(directory.data ?? new Map<string, string>())].sort((a, b) => a[1].localeCompare(b[1]));
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const amount = String(data.get("budget") ?? "").trim();
    const currency = String(data.get("currency") ?? "").trim().toUpperCase();
    create.mutate(
      {
        goal_id: goalId,
        title: String(data.get("title")),
        description: "",
        owner_id: String(data.get("owner")) || null,
        due: endOfDayUtc(String(data.get("due") ?? "")),
        budget: amount ? { amount, currency } : null,
        milestones: [],
        spent: 0,
        status: "planned",
      },
      { onSuccess: () => form.reset() },
    );
  }
  return (
    <form className="stacked" onSubmit={submit} aria-label="New initiative">
      <h3>New initiative</h3>
      <label>
        Title
        <input name="title" required maxLength={200} />
      </label>
      <div className="row">
        <label>
          Owner
          <select name="owner" defaultValue="">
            <option value="">Nobody yet</option>
            {people.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Due
          <input name="due" type="date" />
        </label>
        <label>
          Budget
          <input name="budget" inputMode="decimal" pattern="[0-9]+([.][0-9]+)?" />
        </label>
        <label>
          Currency
          <input name="currency" defaultValue="EUR" pattern="[A-Za-z]{3}" maxLength={3} />
        </label>
      </div>
      <button type="submit">Add initiative</button>
      {create.error && <ErrorMessage error={create.error} />}
    </form>
  );
}

function TimelinePanel({ goalId, unit }: { goalId: string; unit: string | undefined }) {
  const history = useHistory(goalId);
  return (
    <Panel title="History">
      <QueryState query={history}>
        {(h) => {
          const items = timeline(h.items, unit);
          return items.length === 0 ? (
            <p className="muted">Nothing has happened to this goal yet.</p>
          ) : (
            <ol className="timeline" data-testid="timeline" aria-label="History" tabIndex={0}>
              {items.map((item, n) => (
                <li key={n}>
                  <p className="muted small">{formatDateTime(item.time)}</p>
                  <p>{item.text}</p>
                </li>
              ))}
            </ol>
          );
        }}
      </QueryState>
    </Panel>
  );
}

type HistoryItems = NonNullable<ReturnType<typeof useHistory>["data"]>["items"];

/**
 * Newest first: status changes (not every evaluation), revisions (each field old → new, in
 * the KPI's `unit` where it is a quantity), alerts, reviews.
 */
export function timeline(items: HistoryItems, unit?: string): { time: string; text: string }[] {
  const out: { time: string; text: string }[] = [];
  let last: string | null = null;
  for (const item of items) {
    if (item.type === "status") {
      if (item.status !== last) out.push({ time: item.time, text: `Status: ${STATUS_LABEL[item.status]}` });
      last = item.status;
    } else if (item.type === "revision") {
      const fields = revisionChanges(item.changes, unit).join("; ");
      out.push({
        time: item.time,
        text: `${item.changed_by} changed ${fields}: “${item.reason}”${item.review_title ? ` (review “${item.review_title}”)` : ""}`,
      });
    } else if (item.type === "alert") {
      out.push({
        time: item.time,
        text: `${ALERT_KIND[item.kind] ?? item.kind} alert ${item.event.replace("alert.", "")}${item.actor ? ` by ${item.actor}` : ""}${item.note ? `: ${item.note}` : ""}`,
      });
    } else if (item.type === "check_in") {
      out.push({
        time: item.time,
        text: checkInText(item),
      });
    } else {
      out.push({ time: item.time, text: `Reviewed in “${item.title}”` });
    }
  }
  return out.reverse();
}

const ALERT_KIND: Record<string, string> = {
  status: "Status",
  forecast: "Forecast",
  stale_data: "Stale data",
  plan: "Plan",
  anomaly: "Anomaly",
  source: "Source failing",
};

const REASONED = ["target", "baseline", "due"] as const;

function childRows(nodes: GoalNode[]): ChildRow[] {
  return nodes.map((n) => ({
    id: n.id,
    title: n.title,
    status: n.status.status,
    score: n.status.score,
    weight: n.weight,
  }));
}

/** The status sentence; a roll-up's also counts its children and names those that pull
 * it down ("…; 4 of 15 goals off track, 2 at risk. Pulled down most by …"). */
function rollupExplanation(goal: GoalWithPlans, children: ChildRow[]): string {
  const sentence = explainStatus(goal);
  if (goal.kpi) return sentence;
  const counts = childrenSentence(goal.status.children);
  const pulling = pullingSentence(pullingDown(children, goal.rollup_cap));
  return [counts ? `${sentence.replace(/\.$/, "")}; ${counts}.` : sentence, pulling].filter(Boolean).join(" ");
}

const SORTS: { key: ChildSort; label: string }[] = [
  { key: "title", label: "Goal" },
  { key: "status", label: "Status" },
  { key: "score", label: "Score" },
  { key: "weight", label: "Weight" },
];

/** A roll-up's children with their statuses, worst first (sortable), and its score over time. */
function SubGoalsPanel({ goal, rows }: { goal: GoalWithPlans; rows: ChildRow[] }) {
  const [sort, setSort] = useState<{ by: ChildSort; descending: boolean }>({ by: "status", descending: false });
  const history = useHistory(goal.id);
  const option = useMemo(
    () => scoreChartOption(history.data?.items ?? [], goal.thresholds),
    [history.data, goal.thresholds],
  );
  const sorted = sortChildren(rows, sort.by, sort.descending);
  return (
    <Panel title="Sub-goals">
      <Chart option={option} label={`Score of ${goal.title} over time, in percent`} height={200} />
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Sub-goals by status">
        <table className="sub-goals" data-testid="sub-goals">
          <thead>
            <tr>
              {SORTS.map((s) => (
                <th
                  key={s.key}
                  scope="col"
                  aria-sort={sort.by === s.key ? (sort.descending ? "descending" : "ascending") : undefined}
                >
                  <button
                    type="button"
                    className="link-button"
                    onClick={() =>
                      setSort((current) => ({
                        by: s.key,
                        descending: current.by === s.key ? !current.descending : false,
                      }))
                    }
                  >
                    {s.label}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.id} data-goal-id={r.id} data-status={r.status}>
                <th scope="row">
                  <Link to={`/goals/${r.id}`}>{r.title}</Link>
                </th>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>{formatPercent(r.score)}</td>
                <td>{formatNumber(r.weight)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Each sub-goal counts at most {formatPercent(goal.rollup_cap)} in this goal's score, so one far
        ahead cannot hide another behind.
      </p>
    </Panel>
  );
}

/** Add a sub-goal, archive (or restore), delete: each asks first, inline, where it is final. */
function SetupPanel({ goal }: { goal: GoalWithPlans }) {
  const update = useUpdateGoal(goal.id);
  const remove = useDeleteGoal();
  const navigate = useNavigate();
  const [asking, setAsking] = useState<"archive" | "delete" | null>(null);
  const subGoal = `/goals/new?parent=${goal.id}${goal.unit_id ? `&unit=${goal.unit_id}` : ""}`;
  return (
    <Panel title="Set up">
      <p>
        <Link className="button" to={subGoal}>
          Add a sub-goal
        </Link>
      </p>
      {goal.archived_at ? (
        <p>
          Archived on {formatDate(goal.archived_at)}: it is kept with its history but left out of
          the scorecard and its parent's roll-up.{" "}
          <button type="button" onClick={() => update.mutate({ archived: false })}>
            Restore
          </button>
        </p>
      ) : asking === "archive" ? (
        <div role="group" aria-label={`Archive ${goal.title}?`} className="confirm">
          <p>Archive it? It leaves the scorecard and its parent's roll-up; its history is kept.</p>
          <button
            type="button"
            className="primary"
            onClick={() => update.mutate({ archived: true }, { onSuccess: () => setAsking(null) })}
          >
            Archive goal
          </button>{" "}
          <button type="button" autoFocus onClick={() => setAsking(null)}>
            Keep it
          </button>
        </div>
      ) : asking === "delete" ? (
        <div role="group" aria-label={`Delete ${goal.title}?`} className="confirm">
          <p>Delete it for good, with its history? Archiving keeps the history.</p>
          <button
            type="button"
            className="primary"
            onClick={() => remove.mutate(goal.id, { onSuccess: () => void navigate("/") })}
          >
            Delete goal
          </button>{" "}
          <button type="button" autoFocus onClick={() => setAsking(null)}>
            Keep it
          </button>
        </div>
      ) : (
        <p>
          <button type="button" onClick={() => setAsking("archive")}>
            Archive
          </button>{" "}
          <button type="button" onClick={() => setAsking("delete")}>
            Delete
          </button>
        </p>
      )}
      {update.error && <ErrorMessage error={update.error} />}
      {remove.error && <ErrorMessage error={remove.error} />}
    </Panel>
  );
}

function EditPanel({ goal }: { goal: GoalWithPlans }) {
  const update = useUpdateGoal(goal.id);
  const reviews = useReviewsForChoice();
  const [saved, setSaved] = useState(false);
  const [ownerId, setOwnerId] = useState(goal.owner_id ?? "");
  const started = goal.start !== null && Date.parse(goal.start) <= Date.now();

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const body: Record<string, unknown> = {};
    const title = String(data.get("title"));
    if (title !== goal.title) body["title"] = title;
    const owner = String(data.get("owner_id") ?? "");
    if (owner && owner !== (goal.owner_id ?? "")) body["owner_id"] = owner;
    const target = String(data.get("target"));
    if (target !== "" && Number(target) !== goal.target) body["target"] = Number(target);
    const due = String(data.get("due"));
    if (due && goal.due && due !== goal.due.slice(0, 10))
      body["due"] = new Date(`${due}T${goal.due.slice(11)}`).toISOString();
    const reason = String(data.get("reason") ?? "").trim();
    if (reason) body["reason"] = reason;
    const review = String(data.get("review_id") ?? "");
    if (review) body["review_id"] = review;
    setSaved(false);
    update.mutate(body, { onSuccess: () => setSaved(true) });
  }

  return (
    <Panel title="Edit goal">
      <form className="stacked" onSubmit={submit} aria-label="Edit goal">
        <label>
          Title
          <input name="title" defaultValue={goal.title} required />
        </label>
        <PersonPicker label="Owner" name="owner_id" value={ownerId} onChange={setOwnerId} />
        <label>
          Target
          <input name="target" type="number" step="any" defaultValue={goal.target ?? ""} />
        </label>
        <label>
          Due
          <input name="due" type="date" defaultValue={goal.due?.slice(0, 10) ?? ""} />
        </label>
        <label>
          Reason for the change{started ? " (required for target, baseline or due)" : ""}
          <textarea name="reason" rows={2} />
        </label>
        <label>
          Decided in review
          <select name="review_id" defaultValue="">
            <option value="">None</option>
            {(reviews.data ?? []).map((r) => (
              <option key={r.id} value={r.id}>
                {r.title} ({formatDate(r.held_at)})
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={update.isPending}>
          Save
        </button>
        {update.error && <ErrorMessage error={update.error} />}
        {saved && (
          <p role="status" className="ok-text">
            Saved.
          </p>
        )}
      </form>
      <p className="muted small">
        Changing the {REASONED.join(", ")} or thresholds of a started goal needs a reason; it is
        kept in the history.
      </p>
    </Panel>
  );
}
