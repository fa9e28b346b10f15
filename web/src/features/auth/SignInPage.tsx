/**
 * Sign-in: "Sign in with …" for each identity provider the organisation set up (the
 * browser goes to the provider and comes back signed in, docs/sso.md), then email and
 * password; and the page for an ended session.
 */
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { ApiError, api, request } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";

/** Links to each enabled identity provider's sign-in; nothing while there is none. */
function ProviderChoices() {
  const providers = useQuery({
    queryKey: ["sign-in-providers"],
    queryFn: () => request(api.GET("/v1/auth/providers")),
    retry: false,
  });
  const items = providers.data ?? [];
  if (items.length === 0) return null;
  const next = encodeURIComponent(window.location.pathname + window.location.search);
  return (
    <section className="providers" aria-label="Single sign-on">
      {items.map((provider) => (
        <a
          key={provider.id}
          className="button primary"
          href={`${provider.start_url}?next=${next}`}
          data-testid="sign-in-provider"
        >
          Sign in with {provider.name}
        </a>
      ))}
      <p className="muted small">or with your email and password:</p>
    </section>
  );
}

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
        <ProviderChoices />
        <label>
          Email
          {/* The one thing to do on this page: type the email (focus lands here). */}
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
