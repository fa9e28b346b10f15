import type { Schemas } from "@/shared/api/client";

/** A goal with the fields the plans issue adds (SPEC §12), read when present. */
export type GoalWithPlans = Schemas["GoalOut"] & {
  perspective?: string | null;
  check_in_cadence?: string | null;
  status: Schemas["GoalStatusOut"] & {
    check_in?: { last_at: string | null; due_at: string | null; overdue: boolean } | null;
    forecast:
      | (Schemas["ForecastOut"] & { low?: number | null; high?: number | null; probability?: number | null })
      | null;
  };
};
