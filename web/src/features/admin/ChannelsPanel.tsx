/**
 * Unit notification channels: created and deleted by editors, admins and the unit's leads.
 */
import { useQuery } from "@tanstack/react-query";

import { api, request, type Schemas } from "@/shared/api/client";
import { useUnits } from "@/shared/api/queries";
import { unitAndAncestors } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";
import { ChannelDelete, ChannelForm, ChannelTest } from "@/shared/components/Channels";
import { Panel, QueryState } from "@/shared/components/Feedback";
import { channelKind } from "@/shared/lib/channels";

import { channelUnits, unitChannelRows } from "./channels";

export default function ChannelsPanel() {
  const { can } = useSession();
  const units = useUnits();
  const channels = useQuery({
    queryKey: ["channels"],
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/channels", { params: { query: { limit: 1000 } } }))).items,
  });
  const all = units.data ?? [];
  const mayManage = (unitId: string) => can("members:manage", { units: unitAndAncestors(unitId, all) });
  const offered = channelUnits(all, mayManage);
  return (
    <Panel title="Notification channels">
      <QueryState query={channels} feature="Notification channels">
        {(items) => {
          const rows = unitChannelRows(items, all);
          const personal = items.length - rows.length;
          return (
            <>
              {rows.length === 0 ? (
                <p className="muted">No unit channels.</p>
              ) : (
                <table className="compact" data-testid="unit-channels">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Unit</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((c) => (
                      <UnitChannelRow key={c.id} channel={c} unitName={c.unitName} mayDelete={mayManage(c.owner.id)} />
                    ))}
                  </tbody>
                </table>
              )}
              <p className="muted small">
                {personal === 1 ? "1 personal channel" : `${personal} personal channels`}: each person manages theirs on
                their Notifications page.
              </p>
            </>
          );
        }}
      </QueryState>
      {offered.length > 0 && can("notifications:own") && (
        <>
          <h3>New unit channel</h3>
          <ChannelForm label="New unit channel" units={offered} />
        </>
      )}
    </Panel>
  );
}

function UnitChannelRow({
  channel,
  unitName,
  mayDelete,
}: {
  channel: Schemas["ChannelOut"];
  unitName: string;
  mayDelete: boolean;
}) {
  return (
    <tr data-channel-id={channel.id}>
      <th scope="row">{channel.name}</th>
      <td>{channelKind(channel.kind).label}</td>
      <td>{unitName}</td>
      <td>
        {mayDelete && <ChannelTest channel={channel} />}
        {mayDelete && (
          <ChannelDelete channel={channel} consequence={`${unitName} stops hearing through it: its subscriptions and digests go with it.`} />
        )}
      </td>
    </tr>
  );
}
