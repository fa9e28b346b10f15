/** Sign-in with email and password, and the page for an ended session. */
import { type FormEvent, useState } from "react";

import { ApiError } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";

export function SignInPage() {
  const { signIn } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await signIn(String(form.get("email")), String(form.get("password")));
    } catch (e) {
      if (e instanceof ApiError && e.status === 429)
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
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted small">
          No account yet, or forgot your password? Ask an administrator for an invitation.
        </p>
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
        Sessions end when they expire, when you sign out, or when an administrator
        deactivates your account or resets your password. Sign in again to continue; if that
        fails, ask an administrator.
      </p>
      <p>
        <a href="/" className="button primary">
          Sign in again
        </a>
      </p>
    </main>
  );
}
