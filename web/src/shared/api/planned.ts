/**
 * Endpoints the web app uses that other issues add to the api (people: sign-in, /v1/me,
 * users, members; plans: check-ins, initiatives, cycles; analysis: drivers, breakdown;
 * notifications: channels), typed from SPEC §11-14.
 *
 * `client.ts` merges these under the generated `paths` with `Omit<…, keyof paths>`: the
 * moment an endpoint is in the api's OpenAPI document (and the client is regenerated),
 * the generated type wins and its entry here is dead and can go. Until then a call
 * answers 404/405 and the page shows the feature as unavailable (`isUnavailable`).
 */

type Json<T> = { content: { "application/json": T } };
type Ok<T> = { 200: Json<T> };
type Created<T> = { 201: Json<T> };
type Path<P> = { path: P; query?: never; header?: never; cookie?: never };
type Query<Q> = { query?: Q; path?: never; header?: never; cookie?: never };
type PathQuery<P, Q> = { path: P; query?: Q; header?: never; cookie?: never };
type NoParams = { query?: never; path?: never; header?: never; cookie?: never };
type List<T> = { items: T[]; next_cursor?: string | null };

export type Role = "admin" | "editor" | "member" | "viewer";
export type User = {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: "active" | "deactivated";
  created_at: string;
};
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
export type CheckIn = {
  id: string;
  goal_id: string;
  author: string | null;
  at: string;
  comment: string;
  confidence: number;
  blockers: string;
  value: number | null;
};
export type CheckInCreate = {
  comment: string;
  confidence: number;
  blockers?: string;
  value?: number | null;
};
export type Milestone = { id: string; title: string; due: string | null; done_at: string | null };
export type InitiativeStatus = "planned" | "in_progress" | "blocked" | "done" | "cancelled";
export type Initiative = {
  id: string;
  goal_id: string | null;
  title: string;
  description: string;
  owner_id: string | null;
  unit_id: string | null;
  status: InitiativeStatus;
  start: string | null;
  due: string | null;
  budget: { amount: number; currency: string } | null;
  spent: number | null;
  milestones: Milestone[];
  progress: number | null;
};
export type InitiativeWrite = Partial<
  Pick<Initiative, "title" | "description" | "status" | "due" | "goal_id">
>;
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
export type Cycle = { id: string; name: string; start: string; due: string };
export type Channel = {
  id: string;
  name: string;
  kind: "email" | "slack" | "teams" | "apprise";
  owner?: unknown;
};
export type Member = { user_id: string; role: "lead" | "member"; name?: string; email?: string };

export interface PlannedPaths {
  "/v1/auth/login": {
    post: {
      parameters: NoParams;
      requestBody: Json<{ email: string; password: string }>;
      responses: Ok<{ user: User; csrf_token: string }>;
    };
  };
  "/v1/auth/logout": {
    post: { parameters: NoParams; responses: { 204: { content?: never } } };
  };
  "/v1/me": { get: { parameters: NoParams; responses: Ok<Me> } };
  "/v1/users": {
    get: { parameters: Query<{ limit?: number; cursor?: string }>; responses: Ok<List<User>> };
    post: {
      parameters: NoParams;
      requestBody: Json<{ email: string; name: string; role: Role; password?: string }>;
      responses: Created<User>;
    };
  };
  "/v1/users/{user_id}": {
    patch: {
      parameters: Path<{ user_id: string }>;
      requestBody: Json<Partial<Pick<User, "name" | "role" | "status">>>;
      responses: Ok<User>;
    };
  };
  "/v1/units/{unit_id}/members": {
    get: { parameters: Path<{ unit_id: string }>; responses: Ok<List<Member>> };
  };
  "/v1/units/{unit_id}/members/{user_id}": {
    put: {
      parameters: Path<{ unit_id: string; user_id: string }>;
      requestBody: Json<{ role: "lead" | "member" }>;
      responses: Ok<Member>;
    };
    delete: {
      parameters: Path<{ unit_id: string; user_id: string }>;
      responses: { 204: { content?: never } };
    };
  };
  "/v1/goals/{goal_id}/check-ins": {
    get: { parameters: Path<{ goal_id: string }>; responses: Ok<List<CheckIn>> };
    post: {
      parameters: Path<{ goal_id: string }>;
      requestBody: Json<CheckInCreate>;
      responses: Created<CheckIn>;
    };
  };
  "/v1/initiatives": {
    get: {
      parameters: Query<{ goal_id?: string; unit_id?: string; status?: string }>;
      responses: Ok<List<Initiative>>;
    };
    post: {
      parameters: NoParams;
      requestBody: Json<InitiativeWrite & { title: string }>;
      responses: Created<Initiative>;
    };
  };
  "/v1/initiatives/{initiative_id}": {
    patch: {
      parameters: Path<{ initiative_id: string }>;
      requestBody: Json<InitiativeWrite>;
      responses: Ok<Initiative>;
    };
  };
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
  "/v1/cycles": { get: { parameters: NoParams; responses: Ok<List<Cycle>> } };
  "/v1/channels": { get: { parameters: NoParams; responses: Ok<List<Channel>> } };
}
