/**
 * Unit channels on the Administration page, pure: which units the caller may give a
 * channel (the api's rule in services/api/notifications/service.py: editors and admins
 * any unit, a unit lead the units of their subtree) and the unit channels as rows.
 */
type UnitLike = { id: string; name: string; parent_id: string | null };
type ChannelLike = { id: string; name: string; kind: string; owner: { kind: string; id: string } };

/** Units whose channels the caller may create and delete, by name. */
export function channelUnits<U extends UnitLike>(units: readonly U[], mayManage: (unitId: string) => boolean): U[] {
  return units.filter((u) => mayManage(u.id)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Unit channels with their unit's name, by unit then channel name; people's channels left out. */
export function unitChannelRows<C extends ChannelLike>(
  channels: readonly C[],
  units: readonly UnitLike[],
): (C & { unitName: string })[] {
  const names = new Map(units.map((u) => [u.id, u.name]));
  return channels
    .filter((c) => c.owner.kind === "unit")
    .map((c) => ({ ...c, unitName: names.get(c.owner.id) ?? "Unknown unit" }))
    .sort((a, b) => a.unitName.localeCompare(b.unitName) || a.name.localeCompare(b.name));
}
