/** Sign-in (email and password; or an API key) and the page for an ended session. */
import { type FormEvent, useState } from "react";

import { ApiError } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";

export function SignInPage() {
  const { signIn, signInWithKey } = useSession();
  const [mode, setMode] = useState<"password" | "key">("password");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (mode === "password")
        await signIn(String(form.get("email")), String(form.get("password")));
      else await signInWithKey(String(form.get("key")).trim());
    } catch (e) {
      if (e instanceof ApiError && e.unavailable && mode === "password")
        setError("Password sign-in is not available on this server; sign in with an API key.");
      else if (e instanceof ApiError && e.status === 429)
        setError(`${e.detail} Wait a moment before trying again.`);
      else setError(e instanceof Error ? e.message : "Sign-in failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <h1>
        <span aria-hidden="true">✦</span> Northstar
      </h1>
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        {mode === "password" ? (
          <>
            <label>
              Email
              <input name="email" type="email" autoComplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
          </>
        ) : (
          <label>
            API key
            <input name="key" type="password" autoComplete="off" required />
          </label>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setMode(mode === "password" ? "key" : "password");
            setError(null);
          }}
        >
          {mode === "password" ? "Sign in with an API key instead" : "Sign in with email and password"}
        </button>
      </form>
    </main>
  );
}

export function SessionEndedPage({ reason }: { reason: string }) {
  return (
    <main id="main" className="sign-in">
      <h1>Your session has ended</h1>
      <p data-testid="session-ended">{reason}</p>
      <p>
        Sessions end when they expire, when you sign out elsewhere, or when an administrator
        deactivates your account. Sign in again to continue; if that fails, ask an
        administrator.
      </p>
      <p>
        <a href="/" className="button primary">
          Sign in again
        </a>
      </p>
    </main>
  );
}
