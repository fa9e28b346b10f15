/**
 * Pure helpers of the Administration page, kept out of the components so vitest checks
 * them without a browser.
 */

/**
 * The link an invited person opens. The token is in the fragment (`#invite=`), which the
 * browser never sends to a server or a proxy log, as the api's `InvitationOut` suggests.
 */
export function invitationLink(origin: string, token: string): string {
  return `${origin.replace(/\/+$/, "")}/#invite=${encodeURIComponent(token)}`;
}

/**
 * People who may be added to a unit: everyone known (by id and name) who is not in it
 * yet, sorted by name, so the select never offers a duplicate membership.
 */
export function addableMembers(
  people: ReadonlyMap<string, string>,
  members: readonly { user_id: string }[],
): { id: string; name: string }[] {
  const taken = new Set(members.map((m) => m.user_id));
  return [...people]
    .filter(([id]) => !taken.has(id))
    .map(([id, name]) => ({ id, name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
