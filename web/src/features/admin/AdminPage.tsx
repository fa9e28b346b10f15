/**
 * Administration: people (create, invite with a one-time link, role, deactivate), unit
 * memberships (admins, editors and unit leads), units, API keys (the secret shown once),
 * webhooks and notification channels (unit channels created and deleted by editors, admins
 * and the unit's leads). Each section appears only to those who may use it, and lives in
 * its own `*Panel.tsx`.
 */
import { useSession } from "@/shared/auth/session";

import ApiKeysPanel from "./ApiKeysPanel";
import ChannelsPanel from "./ChannelsPanel";
import MembershipsPanel from "./MembershipsPanel";
import PeoplePanel from "./PeoplePanel";
import UnitsPanel from "./UnitsPanel";
import WebhooksPanel from "./WebhooksPanel";

export default function AdminPage() {
  const { can } = useSession();
  return (
    <>
      <h1>Administration</h1>
      {can("people:manage") && <PeoplePanel />}
      {can("members:manage") && <MembershipsPanel />}
      {can("org:write") && <UnitsPanel />}
      {can("keys:manage") && <ApiKeysPanel />}
      {can("webhooks:manage") && <WebhooksPanel />}
      {(can("org:write") || can("members:manage")) && <ChannelsPanel />}
    </>
  );
}
