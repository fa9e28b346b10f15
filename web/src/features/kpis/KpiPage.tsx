/** One KPI: its series (range and step pickers), breakdown by a dimension, and its definition. */
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";

import { useUnits } from "@/shared/api/queries";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { Chart } from "@/shared/components/Chart";
import { Panel, QueryState } from "@/shared/components/Feedback";
import { formatNumber, formatPercent } from "@/shared/lib/format";

import { useBreakdown, useFeedingSources, useKpi, useMetrics, useSeries } from "./api";
import { KpiForm } from "./KpiForm";

const RANGES = [
  [1, "Last hour"],
  [24, "Last 24 hours"],
  [72, "Last 3 days"],
  [168, "Last 7 days"],
  [720, "Last 30 days"],
] as const;
const STEPS = [
  ["", "Automatic"],
  ["PT5M", "5 minutes"],
  ["PT15M", "15 minutes"],
  ["PT1H", "1 hour"],
  ["PT6H", "6 hours"],
  ["P1D", "1 day"],
] as const;

export default function KpiPage() {
  const { key = "" } = useParams();
  const kpi = useKpi(key);
  const { can } = useSession();
  const units = useUnits();
  const [range, setRange] = useState(24);
  const [step, setStep] = useState("");
  const [by, setBy] = useState("");
  const series = useSeries(key, range, step);
  const metrics = useMetrics();
  const breakdown = useBreakdown(key, by, range);
  const feeding = useFeedingSources(kpi.data?.metrics ?? [], can("sources:manage"));
  const dimensions = useMemo(() => {
    const used = new Set(kpi.data?.metrics ?? []);
    return [
      ...new Set((metrics.data ?? []).filter((m) => used.has(m.name)).flatMap((m) => m.dimensions)),
    ].sort();
  }, [kpi.data, metrics.data]);

  return (
    <QueryState query={kpi}>
      {(k) => (
        <>
          <p className="breadcrumb">
            <Link to="/kpis">KPIs</Link>
          </p>
          <h1>{k.name}</h1>
          <p>
            <code>{k.expression}</code> · {k.unit} · {k.kind}
          </p>
          {k.description && <p>{k.description}</p>}
          {(feeding.data ?? []).length > 0 && (
            <p data-testid="kpi-sources">
              Pulled from{" "}
              {(feeding.data ?? []).map((s, i) => (
                <span key={s.id}>
                  {i > 0 && ", "}
                  <Link to="/sources">{s.name}</Link> ({s.kind}, metric <code>{s.metric}</code>)
                </span>
              ))}
            </p>
          )}
          <Panel title="Series">
            <form className="filters" aria-label="Series range" onSubmit={(e) => e.preventDefault()}>
              <label>
                Range
                <select value={range} onChange={(e) => setRange(Number(e.target.value))}>
                  {RANGES.map(([h, label]) => (
                    <option key={h} value={h}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Step
                <select value={step} onChange={(e) => setStep(e.target.value)}>
                  {STEPS.map(([v, label]) => (
                    <option key={v} value={v}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
            </form>
            <QueryState query={series}>
              {(s) => (
                <Chart
                  label={`${k.name} per ${s.step} over the chosen range`}
                  option={{
                    animation: false,
                    grid: { left: 64, right: 16, top: 16, bottom: 32 },
                    tooltip: { trigger: "axis" },
                    xAxis: { type: "time" },
                    yAxis: { type: "value", name: k.unit },
                    series: [
                      {
                        name: k.name,
                        type: "line",
                        showSymbol: false,
                        data: s.points.map((p) => [p.time, p.value]),
                        lineStyle: { color: "#1d4ed8" },
                      },
                    ],
                  }}
                />
              )}
            </QueryState>
          </Panel>
          <Panel title="Breakdown">
            <label>
              By dimension
              <select value={by} onChange={(e) => setBy(e.target.value)}>
                <option value="">Choose…</option>
                {dimensions.map((d) => (
                  <option key={d}>{d}</option>
                ))}
              </select>
            </label>
            {by && (
              <QueryState query={breakdown} feature="Breakdowns">
                {(b) => (
                  <table className="compact">
                    <thead>
                      <tr>
                        <th scope="col">{by}</th>
                        <th scope="col" className="num">Value</th>
                        <th scope="col" className="num">Share</th>
                      </tr>
                    </thead>
                    <tbody>
                      {b.items.map((i) => (
                        <tr key={JSON.stringify(i.dimensions)}>
                          <th scope="row">{Object.values(i.dimensions).join(" · ")}</th>
                          <td className="num">{formatNumber(i.value, k.unit)}</td>
                          <td className="num">{formatPercent(i.share)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </QueryState>
            )}
          </Panel>
          {can("goals:write", { units: unitAndAncestors(k.unit_id, units.data ?? []) }) && (
            <Panel title="Definition">
              <KpiForm kpi={k} />
            </Panel>
          )}
        </>
      )}
    </QueryState>
  );
}
