/**
 * The scorecard: the goal tree of the organisation (or of one unit), grouped as a
 * cascade, by unit or by perspective, with filters and search; re-read every
 * `LIVE_REFRESH_MS` so statuses change on screen as the evaluator moves them.
 */
import {
  type FocusEvent,
  type KeyboardEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useMemo,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { defaultRangeExtractor, type Range, useVirtualizer } from "@tanstack/react-virtual";
import { Link, useSearchParams } from "react-router";

import { QueryState } from "@/shared/components/Feedback";
import { Sparkline } from "@/shared/components/Sparkline";
import { StatusBadge } from "@/shared/components/StatusBadge";
import {
  formatDateTime,
  formatNumber,
  formatPercent,
  STATUS_LABEL,
  STATUS_ORDER,
  type GoalStatus,
} from "@/shared/lib/format";

import { useCycles, useDirectory, useGoalTree, useKpiMap, useUnits } from "@/shared/api/queries";

import { isRunningTotal } from "@/shared/lib/kpi";

import { useInView } from "@/shared/lib/useInView";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";

import { useLatestCheckIn, useTrend } from "./api";
import {
  filterRows,
  flatten,
  type Filters,
  groupRows,
  type Grouping,
  isFiltered,
  NO_FILTERS,
  ownerOf,
  PERSPECTIVE_LABEL,
  type Row,
  statusCounts,
  subtreeOf,
} from "./rows";

const FILTER_KEYS = ["status", "unit", "owner", "cycle", "perspective", "search"] as const;

export function ScorecardPage() {
  const [params, setParams] = useSearchParams();
  const filters: Filters = { ...NO_FILTERS };
  for (const key of FILTER_KEYS) filters[key] = (params.get(key) ?? "") as never;
  const grouping = (params.get("group") ?? "tree") as Grouping;

  const tree = useGoalTree();
  const units = useUnits();
  const kpis = useKpiMap();
  const cycles = useCycles();
  const directory = useDirectory();
  const { can } = useSession();
  const unitFilter = filters.unit;
  // "New goal" goes to the form, in the unit the scorecard is filtered to when the person
  // may create goals there; the api decides either way.
  const mayCreate = unitFilter
    ? can("goals:write", { units: unitAndAncestors(unitFilter, units.data ?? []) })
    : can("goals:write");
  const newGoal = mayCreate ? `/goals/new${unitFilter ? `?unit=${unitFilter}` : ""}` : null;

  function set(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (key === "clear") for (const k of FILTER_KEYS) next.delete(k);
    else if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  }

  return (
    <>
      <div className="page-head">
        <h1>Scorecard</h1>
        {newGoal && (
          <Link className="button primary" to={newGoal}>
            {unitFilter ? "New goal in this unit" : "New goal"}
          </Link>
        )}
        {tree.dataUpdatedAt > 0 && (
          <p className="muted" aria-live="polite">
            Live · updated {formatDateTime(new Date(tree.dataUpdatedAt).toISOString())}
          </p>
        )}
        {/* A download, not a read of the app's: the browser saves the api's workbook. */}
        <a className="button" href="/v1/goals/scorecard.xlsx" download>
          Download Excel
        </a>
      </div>
      <QueryState query={tree}>
        {(nodes) => (
          <Scorecard
            rows={flatten(nodes)}
            filters={filters}
            grouping={grouping}
            units={units.data ?? []}
            kpiUnit={(key) => kpis.data?.get(key)}
            cycles={cycles.data ?? null}
            names={directory.data}
            set={set}
            newGoal={newGoal}
            firstVisit={can("people:manage")}
          />
        )}
      </QueryState>
    </>
  );
}

function Scorecard({
  rows,
  filters,
  grouping,
  units,
  kpiUnit,
  cycles,
  names,
  set,
  newGoal,
  firstVisit,
}: {
  rows: Row[];
  filters: Filters;
  grouping: Grouping;
  units: { id: string; name: string; parent_id: string | null }[];
  kpiUnit: (key: string) => { unit: string; expression: string } | undefined;
  cycles: { id: string; name: string }[] | null;
  names: Map<string, string> | undefined;
  set: (key: string, value: string) => void;
  newGoal: string | null;
  /** An administrator: an empty organisation gets the setup path. */
  firstVisit: boolean;
}) {
  const unitName = useMemo(() => {
    const names = new Map(units.map((u) => [u.id, u.name]));
    return (id: string) => names.get(id) ?? "Unknown unit";
  }, [units]);
  const owners = [
    ...new Set(rows.map((r) => ownerOf(r.goal, names)).filter(Boolean) as string[]),
  ].sort();
  const perspectives = [
    ...new Set(rows.map((r) => r.goal.perspective).filter(Boolean) as string[]),
  ].sort();
  const scope = filters.unit ? subtreeOf(filters.unit, units) : new Set<string>();
  const visible = filterRows(rows, filters, scope, names);
  const groups = groupRows(visible, grouping, unitName);
  const counts = statusCounts(visible);
  const flat = isFiltered(filters) || grouping !== "tree";

  return (
    <>
      <form className="filters" role="search" aria-label="Filter goals" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={filters.search}
            placeholder="Goal, owner…"
            onChange={(e) => set("search", e.target.value)}
          />
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(e) => set("status", e.target.value)}>
            <option value="">Any</option>
            {STATUS_ORDER.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Unit
          <select value={filters.unit} onChange={(e) => set("unit", e.target.value)}>
            <option value="">All units</option>
            {units.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Owner
          <select value={filters.owner} onChange={(e) => set("owner", e.target.value)}>
            <option value="">Anyone</option>
            {owners.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        {cycles && cycles.length > 0 && (
          <label>
            Cycle
            <select value={filters.cycle} onChange={(e) => set("cycle", e.target.value)}>
              <option value="">All cycles</option>
              {cycles.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {perspectives.length > 0 && (
          <label>
            Perspective
            <select value={filters.perspective} onChange={(e) => set("perspective", e.target.value)}>
              <option value="">All</option>
              {perspectives.map((p) => (
                <option key={p} value={p}>
                  {PERSPECTIVE_LABEL[p] ?? p}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Group by
          <select value={grouping} onChange={(e) => set("group", e.target.value === "tree" ? "" : e.target.value)}>
            <option value="tree">Goal cascade</option>
            <option value="unit">Unit</option>
            <option value="perspective">Perspective</option>
          </select>
        </label>
      </form>
      <p className="summary" aria-live="polite" data-testid="scorecard-summary">
        {visible.length} {visible.length === 1 ? "goal" : "goals"}
        {STATUS_ORDER.filter((s) => counts.get(s)).map((s) => (
          <span key={s} className={`count status-text-${s}`}>
            {" "}
            · {counts.get(s)} {STATUS_LABEL[s].toLowerCase()}
          </span>
        ))}
      </p>
      {rows.length === 0 && firstVisit && (
        <section className="panel" aria-labelledby="setup-path-title" data-testid="setup-path">
          <h2 id="setup-path-title">Set up Northstar</h2>
          <ol>
            <li>
              <Link to="/admin">Add your units</Link> (departments and teams) and{" "}
              <Link to="/admin">invite people</Link>, making each unit's head its lead.
            </li>
            <li>
              <Link to="/kpis">Define a first KPI</Link>: what you measure, from your events.
            </li>
            <li>
              <Link to="/cycles">Add a cycle</Link> (a quarter or a year), if you plan in cycles.
            </li>
            <li>
              <Link to="/goals/new">Create a first goal</Link> with its target and dates; leads add
              their units' goals below it.
            </li>
          </ol>
        </section>
      )}
      {visible.length === 0 ? (
        <div className="empty" data-testid="scorecard-empty">
          <p>
            {rows.length === 0
              ? "No goals yet."
              : filters.unit && !isFiltered({ ...filters, unit: "" })
                ? "This unit has no goals yet."
                : "No goal matches these filters."}{" "}
            {newGoal
              ? "Create one with its KPI, target and dates: "
              : rows.length === 0 || filters.unit
                ? "A lead of the unit, an editor or an administrator creates goals."
                : ""}
            {newGoal && <Link to={newGoal}>New goal</Link>}
          </p>
          {isFiltered(filters) && (
            <p>
              <button
                type="button"
                className="link-button"
                onClick={() => set("clear", "")}
              >
                Clear the filters
              </button>
            </p>
          )}
        </div>
      ) : (
        groups.map((group) => (
          <GoalTable
            key={group.key}
            title={group.title}
            rows={group.rows}
            indent={!flat}
            unitName={unitName}
            kpiUnit={kpiUnit}
            names={names}
          />
        ))
      )}
    </>
  );
}

/**
 * Tables longer than this draw only the rows on screen (and a few either side) inside a
 * scroll box of their own; shorter ones draw every row in the page, as before.
 */
const WINDOWED_FROM = 100;
/** A row's height before it is measured (between a one-line and a two-line title cell). */
const ROW_ESTIMATE_PX = 45;
/** Rows drawn above and below the visible ones, so a quick scroll shows no gap. */
const OVERSCAN = 8;

/**
 * One table of goals. Every row counts for assistive technology (`aria-rowcount`,
 * `aria-rowindex`) whether or not it is drawn; Arrow Up/Down, Home and End on a goal's
 * link move focus through all the rows, scrolling the window of drawn rows, and the
 * focused row stays drawn while the table scrolls away from it.
 */
function GoalTable({
  title,
  rows,
  indent,
  unitName,
  kpiUnit,
  names,
}: {
  title: string;
  rows: Row[];
  indent: boolean;
  unitName: (id: string) => string;
  kpiUnit: (key: string) => { unit: string; expression: string } | undefined;
  names: Map<string, string> | undefined;
}) {
  const windowed = rows.length > WINDOWED_FROM;
  const scroller = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLTableSectionElement>(null);
  const head = useRef<HTMLTableSectionElement>(null);
  // The column heads sit in the scroll box above the rows (sticky): rows start below them.
  const [headHeight, setHeadHeight] = useState(0);
  useLayoutEffect(() => {
    const height = head.current?.offsetHeight ?? 0;
    if (height !== headHeight) setHeadHeight(height);
  });
  const [active, setActive] = useState<number | null>(null);
  const pendingFocus = useRef<number | null>(null);
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indexes = defaultRangeExtractor(range);
      if (active !== null && active < range.count && !indexes.includes(active)) {
        indexes.push(active);
        indexes.sort((a, b) => a - b);
      }
      return indexes;
    },
    [active],
  );
  const virtualizer = useVirtualizer({
    count: rows.length,
    enabled: windowed,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: OVERSCAN,
    scrollMargin: headHeight,
    scrollPaddingStart: headHeight,
    rangeExtractor,
    getItemKey: (index) => rows[index]!.goal.id,
    // Rows for the first paint, before the scroll box has been measured.
    initialRect: { width: 0, height: typeof window === "undefined" ? 800 : window.innerHeight },
  });

  // Scrolled to the very end, the box stays there while the rows just drawn are measured
  // (taller or shorter than estimated); elsewhere a row above the view measured at another
  // height moves the view by the difference, so what is on screen stays put.
  const pinnedToEnd = useRef(false);
  virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, instance) =>
    !pinnedToEnd.current && item.start < (instance.scrollOffset ?? 0);
  function onScroll() {
    const box = scroller.current;
    if (box) pinnedToEnd.current = box.scrollTop + box.clientHeight >= box.scrollHeight - 1;
  }
  useLayoutEffect(() => {
    const box = scroller.current;
    if (windowed && box && pinnedToEnd.current) box.scrollTop = box.scrollHeight;
  });

  // Move focus to a row once it is drawn (it may be drawn by this very render).
  useEffect(() => {
    const index = pendingFocus.current;
    if (index === null) return;
    const link = body.current?.querySelector<HTMLElement>(`tr[data-index="${index}"] a`);
    if (link) {
      pendingFocus.current = null;
      link.focus();
    }
  });

  function focusRow(index: number) {
    pendingFocus.current = index;
    setActive(index);
    if (windowed) virtualizer.scrollToIndex(index, { align: "auto" });
    const link = body.current?.querySelector<HTMLElement>(`tr[data-index="${index}"] a`);
    if (link) {
      pendingFocus.current = null;
      link.focus();
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTableSectionElement>) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const row = (event.target as HTMLElement).closest<HTMLElement>("tr[data-index]");
    if (!row || !(event.target as HTMLElement).matches("a")) return;
    const index = Number(row.dataset.index);
    const next =
      event.key === "ArrowDown"
        ? index + 1
        : event.key === "ArrowUp"
          ? index - 1
          : event.key === "Home"
            ? 0
            : event.key === "End"
              ? rows.length - 1
              : null;
    if (next === null || next < 0 || next >= rows.length) return;
    event.preventDefault();
    focusRow(next);
  }

  function onFocus(event: FocusEvent<HTMLTableSectionElement>) {
    const row = (event.target as HTMLElement).closest<HTMLElement>("tr[data-index]");
    if (row) setActive(Number(row.dataset.index));
  }

  // The rows to draw, in order, with spacer rows standing for the ones not drawn.
  const drawn: { index: number; start: number; end: number }[] = windowed
    ? virtualizer.getVirtualItems()
    : rows.map((_, index) => ({ index, start: 0, end: 0 }));
  const bodyRows: ReactNode[] = [];
  let offset = headHeight;
  for (const item of drawn) {
    if (windowed && item.start > offset)
      bodyRows.push(<Spacer key={`gap-${item.index}`} height={item.start - offset} />);
    const row = rows[item.index]!;
    bodyRows.push(
      <GoalRow
        key={row.goal.id}
        index={item.index}
        measure={windowed ? virtualizer.measureElement : undefined}
        row={row}
        indent={indent}
        unit={row.goal.kpi ? kpiUnit(row.goal.kpi)?.unit : undefined}
        expression={row.goal.kpi ? kpiUnit(row.goal.kpi)?.expression : undefined}
        unitName={unitName}
        owner={ownerOf(row.goal, names)}
      />,
    );
    offset = item.end;
  }
  const end = headHeight + virtualizer.getTotalSize();
  if (windowed && end > offset) bodyRows.push(<Spacer key="gap-end" height={end - offset} />);

  return (
    <section className="scorecard-group" aria-label={title || "Goals"}>
      {title && <h2>{title}</h2>}
      <div
        ref={scroller}
        onScroll={windowed ? onScroll : undefined}
        className={windowed ? "table-scroll windowed" : "table-scroll"}
        tabIndex={0}
        role="region"
        aria-label={title ? `Goals of ${title}` : "Goals"}
      >
        <table className="scorecard" aria-rowcount={rows.length + 1} data-windowed={windowed || undefined}>
          <thead ref={head}>
            <tr aria-rowindex={1}>
              <th scope="col">Goal</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Score</th>
              <th scope="col" className="num">Actual</th>
              <th scope="col" className="num">Expected</th>
              <th scope="col" className="num">Target</th>
              <th scope="col">Trend</th>
              <th scope="col">Owner</th>
              <th scope="col">Confidence</th>
              <th scope="col">Initiatives</th>
            </tr>
          </thead>
          <tbody ref={body} onKeyDown={onKeyDown} onFocus={onFocus}>
            {bodyRows}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Stands for rows not drawn, so the scroll bar and positions are those of every row. */
function Spacer({ height }: { height: number }) {
  return (
    <tr className="spacer" aria-hidden="true" style={{ height }}>
      <td colSpan={10} />
    </tr>
  );
}

function GoalRow({
  index,
  measure,
  row,
  indent,
  unit,
  expression,
  unitName,
  owner,
}: {
  index: number;
  measure: ((element: Element | null) => void) | undefined;
  row: Row;
  indent: boolean;
  unit: string | undefined;
  expression: string | undefined;
  unitName: (id: string) => string;
  owner: string | null;
}) {
  const { goal, depth } = row;
  const s = goal.status;
  return (
    <tr
      ref={measure}
      data-index={index}
      aria-rowindex={index + 2}
      data-goal-id={goal.id}
      data-status={s.status}
    >
      <th scope="row" className="goal-cell">
        <div style={indent ? { paddingLeft: `${depth * 1.25}rem` } : undefined}>
          <Link to={`/goals/${goal.id}`}>{goal.title}</Link>
          <span className="muted small">
            {goal.unit_id ? unitName(goal.unit_id) : ""}
            {!indent && row.path.length > 0 ? ` · under ${row.path[row.path.length - 1]}` : ""}
          </span>
        </div>
      </th>
      <td>
        <StatusBadge status={s.status as GoalStatus} />
        {s.forecast?.status === "likely_missed" && (
          <span className="small warn-text"> likely missed</span>
        )}
      </td>
      <td className="num">{formatPercent(s.score)}</td>
      <td className="num">{formatNumber(s.actual, unit)}</td>
      <td className="num">{formatNumber(s.expected, unit)}</td>
      <td className="num">{formatNumber(s.target, unit)}</td>
      <td>
        {goal.kpi ? (
          <Trend goal={goal} runningTotal={isRunningTotal(expression)} />
        ) : (
          <span className="muted small">roll-up</span>
        )}
      </td>
      <td>{owner ?? <span className="muted">–</span>}</td>
      <td>
        <Confidence goal={goal} />
      </td>
      <td>
        {s.initiatives && s.initiatives.count > 0 ? (
          <span title={`${formatPercent(s.initiatives.progress)} complete`}>
            {s.initiatives.by_status["done"] ?? 0}/{s.initiatives.count} done
            {(s.initiatives.by_status["blocked"] ?? 0) > 0 && (
              <span className="small warn-text"> {s.initiatives.by_status["blocked"]} blocked</span>
            )}
          </span>
        ) : (
          <span className="muted">–</span>
        )}
      </td>
    </tr>
  );
}

/** A row's sparkline, fetched once the row is on screen. */
function Trend({ goal, runningTotal }: { goal: Row["goal"]; runningTotal: boolean }) {
  const [anchor, seen] = useInView<HTMLSpanElement>();
  const trend = useTrend(goal.kpi, goal.start, goal.due, runningTotal && !goal.window, seen);
  return (
    <span ref={anchor}>
      <Sparkline values={trend.data ?? []} label={`Trend of ${goal.kpi}`} />
    </span>
  );
}

/** The confidence of the goal's latest check-in, fetched once the row is on screen. */
function Confidence({ goal }: { goal: Row["goal"] }) {
  const [anchor, seen] = useInView<HTMLSpanElement>();
  const latest = useLatestCheckIn(goal.id, seen);
  const overdue = goal.status.check_in?.overdue;
  return (
    <span ref={anchor}>
      {latest.data ? (
        <span title={`Checked in ${formatDateTime(latest.data.at)}`}>
          {latest.data.confidence}/10
        </span>
      ) : (
        <span className="muted">–</span>
      )}
      {overdue && <span className="small warn-text"> check-in overdue</span>}
    </span>
  );
}
