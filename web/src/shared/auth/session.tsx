/**
 * Who is signed in: `/v1/me` read once and kept in context, sign-in and sign-out, and the
 * "session ended" state every 401 puts the app in (an expired or revoked session, a
 * deactivated person).
 */
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";

import { ApiError, api, onUnauthorised, request } from "@/shared/api/client";
import { type Action, type Actor, can, type Resource } from "@/shared/auth/permissions";

type SessionState =
  | { phase: "loading" }
  | { phase: "signed_out" }
  | { phase: "ended"; reason: string }
  | { phase: "signed_in"; actor: Actor };

type Session = {
  state: SessionState;
  actor: Actor | null;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  can: (action: Action, resource?: Resource) => boolean;
};

const SessionContext = createContext<Session | null>(null);

/** The caller from `/v1/me`, or null when nobody is signed in. */
async function loadActor(): Promise<Actor | null> {
  try {
    return { ...(await request(api.GET("/v1/me"))), known: true } as Actor;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ phase: "loading" });
  const queries = useQueryClient();

  const refresh = useCallback(async () => {
    const actor = await loadActor();
    setState(actor ? { phase: "signed_in", actor } : { phase: "signed_out" });
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
      await request(api.POST("/v1/auth/login", { body: { email, password } }));
      queries.clear();
      await refresh();
    },
    [refresh, queries],
  );

  const signOut = useCallback(async () => {
    // A session from an identity provider that supports RP-initiated logout names the
    // provider's sign-out address: the browser goes there to end that session too.
    const endSession = await api
      .POST("/v1/auth/logout")
      .then(({ response }) => response.headers.get("X-End-Session-Url"))
      .catch(() => null);
    queries.clear();
    setState({ phase: "signed_out" });
    if (endSession) window.location.assign(endSession);
  }, [queries]);

  const actor = state.phase === "signed_in" ? state.actor : null;
  const value: Session = {
    state,
    actor,
    signIn,
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
