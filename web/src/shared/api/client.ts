/**
 * The one api layer: a typed `openapi-fetch` client over the generated `schema.d.ts`.
 * Features call `api.GET(...)` through `request()`; nothing else in the app calls `fetch`.
 *
 * Credentials: the session cookie rides along (same origin, HttpOnly: scripts never see
 * it); every state-changing request carries `X-CSRF-Token` copied from the
 * `northstar_csrf` cookie, as docs/people.md requires.
 */
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths as GeneratedPaths } from "./schema";

export type Paths = GeneratedPaths;
export type Schemas = components["schemas"];

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** A problem+json error from the api, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = "ApiError";
  }

  /**
   * The endpoint does not exist on this api (a feature another issue has not landed):
   * the router's "There is no resource at …" or a 405, not a 404 about a missing resource.
   */
  get unavailable(): boolean {
    return (
      this.status === 405 ||
      (this.status === 404 && this.detail.startsWith("There is no resource at"))
    );
  }
}

export function isUnavailable(error: unknown): boolean {
  return error instanceof ApiError && error.unavailable;
}

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

type Listener = (status: number, problem: Record<string, unknown>) => void;
const unauthorised = new Set<Listener>();

/** Called with each 401 (session expired or revoked, person deactivated). */
export function onUnauthorised(listener: Listener): () => void {
  unauthorised.add(listener);
  return () => unauthorised.delete(listener);
}

const credentials: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      const csrf = readCookie("northstar_csrf");
      if (csrf) request.headers.set("X-CSRF-Token", csrf);
    }
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status === 401 && !request.url.endsWith("/v1/auth/login")) {
      const problem = await response
        .clone()
        .json()
        .catch(() => ({}));
      for (const listener of unauthorised) listener(401, problem as Record<string, unknown>);
    }
    return response;
  },
};

export const api = createClient<Paths>({ baseUrl: "", credentials: "same-origin" });
api.use(credentials);

/** Await an openapi-fetch call; its data, or an `ApiError` with the problem's detail. */
export async function request<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check your connection and retry.");
  }
  const { data, error, response } = result;
  if (!response.ok) {
    const problem = (error && typeof error === "object" ? error : {}) as Record<string, unknown>;
    const detail =
      typeof problem["detail"] === "string"
        ? problem["detail"]
        : `The request failed (${response.status} ${response.statusText}).`;
    throw new ApiError(response.status, detail, problem);
  }
  return data as T;
}
