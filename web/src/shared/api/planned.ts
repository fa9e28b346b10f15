/**
 * Endpoints the web app uses that other issues add to the api and that are not on it yet
 * (analysis: drivers, breakdown), typed from SPEC §13.
 *
 * `client.ts` merges these under the generated `paths` with `Omit<…, keyof paths>`: the
 * moment an endpoint is in the api's OpenAPI document (and the client is regenerated),
 * the generated type wins and its entry here is dead and can go. Until then a call
 * answers 404/405 and the page shows the feature as unavailable (`isUnavailable`).
 */

type Json<T> = { content: { "application/json": T } };
type Ok<T> = { 200: Json<T> };
type PathQuery<P, Q> = { path: P; query?: Q; header?: never; cookie?: never };

export type Role = "admin" | "editor" | "member" | "viewer";
export type Membership = { unit_id: string; role: "lead" | "member" };
export type Me = {
  kind: "user" | "key";
  id: string;
  name: string;
  email: string | null;
  role: Role | null;
  scopes: string[];
  memberships: Membership[];
  permissions: string[];
};
export type Drivers = {
  gap: number | null;
  compare: "expected" | "previous";
  method: string;
  dimension: string | null;
  items: {
    value: string;
    actual: number | null;
    reference: number | null;
    contribution: number;
    share_of_gap: number | null;
  }[];
  alternatives: { dimension: string; concentration: number }[];
};
export type Breakdown = {
  items: { dimensions: Record<string, string>; value: number | null; share: number | null }[];
  other: number | null;
  total: number | null;
  additive: boolean;
};

export interface PlannedPaths {
  "/v1/goals/{goal_id}/drivers": {
    get: {
      parameters: PathQuery<{ goal_id: string }, { by?: string; compare?: string }>;
      responses: Ok<Drivers>;
    };
  };
  "/v1/kpis/{key}/breakdown": {
    get: {
      parameters: PathQuery<{ key: string }, { by: string; from?: string; to?: string }>;
      responses: Ok<Breakdown>;
    };
  };
}
