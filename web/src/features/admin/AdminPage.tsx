/**
 * Administration: people (create, invite with a one-time link, role, deactivate), single
 * sign-on (identity providers, admins), unit memberships (admins, editors and unit leads), units, API keys (the secret shown once),
 * webhooks and notification channels (unit channels created and deleted by editors, admins
 * and the unit's leads). Each section appears only to those who may use it, and lives in
 * its own `*Panel.tsx`. Someone who may use none of them (a viewer who typed `/admin`) is
 * told they have no access.
 */
import type { Action } from "@/shared/auth/permissions";
import { useSession } from "@/shared/auth/session";

import ApiKeysPanel from "./ApiKeysPanel";
import ChannelsPanel from "./ChannelsPanel";
import IdentityProvidersPanel from "./IdentityProvidersPanel";
import MembershipsPanel from "./MembershipsPanel";
import PeoplePanel from "./PeoplePanel";
import UnitsPanel from "./UnitsPanel";
import WebhooksPanel from "./WebhooksPanel";

export default function AdminPage() {
  const { can } = useSession();
  const sections: Action[] = ["people:manage", "members:manage", "org:write", "keys:manage", "webhooks:manage"];
  const any = sections.some((a) => can(a));
  if (!any)
    return (
      <>
        <h1>Administration</h1>
        <p className="empty" role="status" data-testid="no-access">
          You have no access to administration: it is for administrators, editors and the leads of a unit. Ask an
          administrator if you need to manage people, units, keys or channels.
        </p>
      </>
    );
  return (
    <>
      <h1>Administration</h1>
      {can("people:manage") && <PeoplePanel />}
      {can("people:manage") && <IdentityProvidersPanel />}
      {can("members:manage") && <MembershipsPanel />}
      {can("org:write") && <UnitsPanel />}
      {can("keys:manage") && <ApiKeysPanel />}
      {can("webhooks:manage") && <WebhooksPanel />}
      {(can("org:write") || can("members:manage")) && <ChannelsPanel />}
    </>
  );
}
