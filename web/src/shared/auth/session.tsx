/**
 * Who is signed in: `/v1/me` read once and kept in context, sign-in (email and
 * password, or an API key), sign-out, and the "session ended" state that every 401 puts
 * the app in (expired session, deactivated user, revoked key).
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";

import { ApiError, api, apiKey, onUnauthorised, request } from "@/shared/api/client";
import { type Action, type Actor, can } from "@/shared/auth/permissions";

type SessionState =
  | { phase: "loading" }
  | { phase: "signed_out" }
  | { phase: "ended"; reason: string }
  | { phase: "signed_in"; actor: Actor };

type Session = {
  state: SessionState;
  actor: Actor | null;
  signIn: (email: string, password: string) => Promise<void>;
  signInWithKey: (key: string) => Promise<void>;
  signOut: () => Promise<void>;
  can: (action: Action, resource?: Parameters<typeof can>[2]) => boolean;
};

const SessionContext = createContext<Session | null>(null);

/** The caller from `/v1/me`; a key on an api without `/v1/me` is an actor of unknown rights. */
async function loadActor(): Promise<Actor | null> {
  try {
    return { ...(await request(api.GET("/v1/me"))), known: true };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return null;
    if (!error.unavailable) throw error;
  }
  if (!apiKey.get()) return null;
  // No /v1/me on this api: prove the key works with a read any key with `read` may do.
  await request(api.GET("/v1/units", { params: { query: { limit: 1 } } }));
  return {
    kind: "key",
    id: "key",
    name: "API key",
    email: null,
    role: null,
    scopes: [],
    memberships: [],
    permissions: [],
    known: false,
  };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ phase: "loading" });
  const queries = useQueryClient();

  const refresh = useCallback(async () => {
    try {
      const actor = await loadActor();
      setState(actor ? { phase: "signed_in", actor } : { phase: "signed_out" });
    } catch (error) {
      apiKey.set(null);
      if (error instanceof ApiError && error.status === 401) setState({ phase: "signed_out" });
      else throw error;
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setState({ phase: "signed_out" }));
    return onUnauthorised((_status, problem) => {
      queries.clear();
      setState((current) =>
        current.phase === "signed_in"
          ? {
              phase: "ended",
              reason:
                typeof problem["detail"] === "string"
                  ? problem["detail"]
                  : "Your session has expired.",
            }
          : current,
      );
    });
  }, [refresh, queries]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      apiKey.set(null);
      await request(api.POST("/v1/auth/login", { body: { email, password } }));
      queries.clear();
      await refresh();
    },
    [refresh, queries],
  );

  const signInWithKey = useCallback(
    async (key: string) => {
      apiKey.set(key);
      try {
        queries.clear();
        const actor = await loadActor();
        if (!actor) throw new ApiError(401, "This API key is not valid.");
        setState({ phase: "signed_in", actor });
      } catch (error) {
        apiKey.set(null);
        throw error;
      }
    },
    [queries],
  );

  const signOut = useCallback(async () => {
    const usedKey = apiKey.get() !== null;
    apiKey.set(null);
    if (!usedKey) await request(api.POST("/v1/auth/logout")).catch(() => undefined);
    queries.clear();
    setState({ phase: "signed_out" });
  }, [queries]);

  const actor = state.phase === "signed_in" ? state.actor : null;
  const value: Session = {
    state,
    actor,
    signIn,
    signInWithKey,
    signOut,
    can: (action, resource) => can(actor, action, resource),
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionProvider>");
  return session;
}
