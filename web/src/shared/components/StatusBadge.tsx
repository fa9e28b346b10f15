import { type GoalStatus, STATUS_LABEL } from "@/shared/lib/format";

/** A goal status as a coloured pill with its word (colour is never the only signal). */
export function StatusBadge({ status }: { status: GoalStatus }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {STATUS_LABEL[status]}
    </span>
  );
}
