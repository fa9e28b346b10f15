import type { Schemas } from "@/shared/api/client";

/** A goal as the goal page reads it; the forecast gains a band when analysis lands (§13). */
export type GoalWithPlans = Schemas["GoalOut"] & {
  status: Schemas["GoalStatusOut"] & {
    forecast:
      | (Schemas["ForecastOut"] & {
          low?: number | null;
          high?: number | null;
          probability?: number | null;
        })
      | null;
  };
};
