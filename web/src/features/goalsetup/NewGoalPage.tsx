/**
 * Create a goal in the browser (issue 24): from the scorecard, from a unit (`?unit=`) or as
 * a sub-goal from its parent's page (`?parent=`). The units offered are those where the
 * person may create goals (the policy's `goals:write`); the KPI is picked or defined on
 * the spot, in the goal's unit (a lead defines KPIs for their unit). The api decides and
 * its refusals are shown next to the fields they are about.
 */
import { type FormEvent, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";

import { fieldErrors } from "@/shared/api/problems";
import { useCycles, useKpiMap, useUnits } from "@/shared/api/queries";
import { useSession } from "@/shared/auth/session";
import { ErrorMessage, Loading } from "@/shared/components/Feedback";
import { PersonPicker } from "@/shared/components/PersonPicker";

import { useCreateGoal, useCreateKpi, useParentGoal } from "./api";
import { creatableUnits, type GoalDraft, goalBody, kpiBody, type KpiDraft, mayCreateWithoutUnit } from "./draft";

const GOAL_FIELDS = [
  "title",
  "unit_id",
  "parent_id",
  "owner_id",
  "kpi",
  "target",
  "baseline",
  "thresholds",
  "cycle_id",
  "start",
  "due",
  "weight",
  "perspective",
] as const;
const KPI_FIELDS = ["key", "name", "unit", "expression"] as const;
const NEW_KPI = "__new__";

const PERSPECTIVES = [
  ["", "None"],
  ["financial", "Financial"],
  ["customer", "Customer"],
  ["internal_process", "Internal process"],
  ["learning_growth", "Learning and growth"],
] as const;

export default function NewGoalPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { actor } = useSession();
  const units = useUnits();
  const kpis = useKpiMap();
  const cycles = useCycles();
  const createGoal = useCreateGoal();
  const createKpi = useCreateKpi();
  const parentId = params.get("parent") ?? "";
  const parentGoal = useParentGoal(parentId);
  const parent = parentId ? (parentGoal.data ?? null) : null;
  const allowed = useMemo(() => creatableUnits(actor, units.data ?? []), [actor, units.data]);
  const withoutUnit = mayCreateWithoutUnit(actor);
  const [unitId, setUnitId] = useState(params.get("unit") ?? parent?.unit_id ?? "");
  const [kpi, setKpi] = useState("");
  // The person creating the goal owns it unless they pick someone else.
  const [ownerId, setOwnerId] = useState(actor?.kind === "user" ? actor.id : "");

  if (units.isPending || kpis.isPending || (parentId && parentGoal.isPending)) return <Loading />;
  if (allowed.length === 0 && !withoutUnit) {
    return (
      <>
        <h1>New goal</h1>
        <p data-testid="no-goal-rights">
          You may not create goals: a unit lead creates them for their unit, an editor or an
          administrator anywhere. Ask one of them, or ask an administrator to make you a lead.
        </p>
        <p>
          <Link to="/">Back to the scorecard</Link>
        </p>
      </>
    );
  }
  const chosenUnit = unitId || (withoutUnit ? "" : (allowed[0]?.id ?? ""));
  const goalErrors = fieldErrors(createGoal.error, GOAL_FIELDS);
  const kpiErrors = fieldErrors(createKpi.error, KPI_FIELDS);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const value = (name: string) => String(data.get(name) ?? "");
    createGoal.reset();
    createKpi.reset();
    let kpiKey = kpi;
    if (kpi === NEW_KPI) {
      const draft: KpiDraft = {
        key: value("kpi_key"),
        name: value("kpi_name"),
        unit: value("kpi_unit"),
        expression: value("kpi_expression"),
        kind: value("kpi_kind"),
      };
      try {
        kpiKey = (await createKpi.mutateAsync(kpiBody(draft, chosenUnit))).key;
      } catch {
        return; // shown next to the KPI's fields
      }
    }
    const draft: GoalDraft = {
      title: value("title"),
      description: value("description"),
      unitId: chosenUnit,
      parentId,
      ownerId: value("owner_id"),
      kpi: kpiKey,
      type: value("type"),
      baseline: value("baseline"),
      target: value("target"),
      pacing: value("pacing"),
      atRisk: value("at_risk"),
      offTrack: value("off_track"),
      cycleId: value("cycle_id"),
      start: value("start"),
      due: value("due"),
      weight: value("weight"),
      perspective: value("perspective"),
    };
    try {
      const goal = await createGoal.mutateAsync(goalBody(draft));
      void navigate(`/goals/${goal.id}`);
    } catch {
      // shown next to the fields
    }
  }

  const described = (field: string) =>
    goalErrors.byField[field] ? { "aria-invalid": true, "aria-describedby": `goal-${field}-error` } : {};
  const fieldError = (field: string) =>
    goalErrors.byField[field] ? (
      <span className="field-error" id={`goal-${field}-error`}>
        {goalErrors.byField[field]}
      </span>
    ) : null;
  const kpiDescribed = (field: string) =>
    kpiErrors.byField[field] ? { "aria-invalid": true, "aria-describedby": `kpi-${field}-error` } : {};
  const kpiFieldError = (field: string) =>
    kpiErrors.byField[field] ? (
      <span className="field-error" id={`kpi-${field}-error`}>
        {kpiErrors.byField[field]}
      </span>
    ) : null;

  return (
    <article className="new-goal">
      <p className="breadcrumb">
        <Link to="/">Scorecard</Link>
        {parent && (
          <>
            {" › "}
            <Link to={`/goals/${parent.id}`}>{parent.title}</Link>
          </>
        )}
      </p>
      <h1>{parent ? `New sub-goal of ${parent.title}` : "New goal"}</h1>
      <form className="stacked goal-form" aria-label="New goal" onSubmit={(e) => void submit(e)} noValidate>
        <label>
          Title
          <input name="title" required maxLength={200} {...described("title")} />
          {fieldError("title")}
        </label>
        <label>
          Description (why, and how)
          <textarea name="description" rows={2} />
        </label>
        <div className="row">
          <label>
            Unit
            <select
              name="unit_id"
              value={chosenUnit}
              onChange={(e) => setUnitId(e.target.value)}
              {...described("unit_id")}
            >
              {withoutUnit && <option value="">No unit (the whole organisation)</option>}
              {allowed.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
            {fieldError("unit_id")}
          </label>
          <PersonPicker
            label="Owner"
            name="owner_id"
            value={ownerId}
            onChange={setOwnerId}
            errorId={goalErrors.byField["owner_id"] ? "goal-owner_id-error" : undefined}
          />
          {fieldError("owner_id")}
        </div>
        <fieldset>
          <legend>How it is measured</legend>
          <label>
            KPI
            <select name="kpi" value={kpi} onChange={(e) => setKpi(e.target.value)} {...described("kpi")}>
              <option value="">None: a roll-up of its sub-goals</option>
              {[...(kpis.data?.values() ?? [])].map((k) => (
                <option key={k.key} value={k.key}>
                  {k.name} ({k.key})
                </option>
              ))}
              <option value={NEW_KPI}>Define a new KPI…</option>
            </select>
            {fieldError("kpi")}
          </label>
          {kpi === NEW_KPI && (
            <div className="stacked" role="group" aria-label="New KPI">
              <div className="row">
                <label>
                  KPI key
                  <input name="kpi_key" required pattern="[a-z][a-z0-9_]*" {...kpiDescribed("key")} />
                  {kpiFieldError("key")}
                </label>
                <label>
                  KPI name
                  <input name="kpi_name" required {...kpiDescribed("name")} />
                  {kpiFieldError("name")}
                </label>
              </div>
              <div className="row">
                <label>
                  KPI unit
                  <input name="kpi_unit" defaultValue="count" {...kpiDescribed("unit")} />
                  {kpiFieldError("unit")}
                </label>
                <label>
                  Kind
                  <select name="kpi_kind" defaultValue="lagging">
                    <option value="leading">Leading</option>
                    <option value="lagging">Lagging</option>
                  </select>
                </label>
              </div>
              <label>
                Expression
                <input
                  name="kpi_expression"
                  required
                  placeholder="sum(orders.amount)"
                  {...kpiDescribed("expression")}
                />
                {kpiFieldError("expression")}
              </label>
              {kpiErrors.general && <p className="error" role="alert">{kpiErrors.general}</p>}
            </div>
          )}
          <div className="row">
            <label>
              Type
              <select name="type" defaultValue="reach">
                <option value="reach">Reach a target</option>
                <option value="stay_above">Stay above</option>
                <option value="stay_below">Stay below</option>
              </select>
            </label>
            <label>
              Baseline
              <input name="baseline" type="number" step="any" placeholder="0" {...described("baseline")} />
              {fieldError("baseline")}
            </label>
            <label>
              Target
              <input name="target" type="number" step="any" {...described("target")} />
              {fieldError("target")}
            </label>
          </div>
          <div className="row">
            <label>
              Pacing
              <select name="pacing" defaultValue="linear">
                <option value="linear">Linear</option>
                <option value="none">None (the target from the start)</option>
                <option value="seasonal">Seasonal</option>
              </select>
            </label>
            <label>
              At risk below (%)
              <input name="at_risk" type="number" step="any" placeholder="95" {...described("thresholds")} />
            </label>
            <label>
              Off track below (%)
              <input name="off_track" type="number" step="any" placeholder="85" {...described("thresholds")} />
            </label>
          </div>
          {fieldError("thresholds")}
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <div className="row">
            <label>
              Cycle
              <select name="cycle_id" defaultValue="" {...described("cycle_id")}>
                <option value="">No cycle</option>
                {(cycles.data ?? []).map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
              {fieldError("cycle_id")}
            </label>
            <label>
              Start
              <input name="start" type="date" {...described("start")} />
              {fieldError("start")}
            </label>
            <label>
              Due
              <input name="due" type="date" {...described("due")} />
              {fieldError("due")}
            </label>
          </div>
          <p className="muted small">A goal in a cycle takes the cycle's dates unless you give its own.</p>
        </fieldset>
        <div className="row">
          <label>
            Weight in its parent
            <input name="weight" type="number" step="any" min={0} placeholder="1" {...described("weight")} />
            {fieldError("weight")}
          </label>
          <label>
            Perspective
            <select name="perspective" defaultValue={parent?.perspective ?? ""}>
              {PERSPECTIVES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {goalErrors.general && <ErrorMessage error={createGoal.error} />}
        <button type="submit" className="primary" disabled={createGoal.isPending || createKpi.isPending}>
          Create goal
        </button>
      </form>
    </article>
  );
}
