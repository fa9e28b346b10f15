/** The KPI list, and the form for a new KPI (for those who may define KPIs). */
import { Link, useNavigate } from "react-router";

import { useUnits } from "@/shared/api/queries";
import { unitsAllowed } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { Panel, QueryState } from "@/shared/components/Feedback";

import { useKpis } from "./api";
import { KpiForm } from "./KpiForm";

export default function KpisPage() {
  const kpis = useKpis();
  const { can, actor } = useSession();
  const navigate = useNavigate();
  const units = useUnits();
  // Leads define KPIs for their unit and the units below it, editors and admins anywhere.
  const allowed = unitsAllowed(actor, "goals:write", units.data ?? []);
  const withoutUnit = can("goals:write", { units: [] });
  return (
    <>
      <h1>KPIs</h1>
      <QueryState query={kpis}>
        {(items) => (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="KPIs table">
            <table>
              <thead>
                <tr>
                  <th scope="col">KPI</th>
                  <th scope="col">Unit</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Expression</th>
                </tr>
              </thead>
              <tbody>
                {items.map((k) => (
                  <tr key={k.key}>
                    <th scope="row">
                      <Link to={`/kpis/${k.key}`}>{k.name}</Link>
                    </th>
                    <td>{k.unit}</td>
                    <td>{k.kind}</td>
                    <td className="mono">{k.expression}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {(allowed.length > 0 || withoutUnit) && (
        <Panel title="New KPI">
          <KpiForm
            onSaved={(key) => navigate(`/kpis/${key}`)}
            units={allowed}
            withoutUnit={withoutUnit}
          />
        </Panel>
      )}
    </>
  );
}
