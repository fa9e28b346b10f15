/**
 * The page an invitation link opens (`/#invite=<token>`): the invited person chooses a
 * password (`POST /v1/auth/accept-invitation`) and is signed in with it. A used or
 * expired link says so and tells them to ask for a new one.
 */
import { type FormEvent, useState } from "react";

import { ApiError, api, request } from "@/shared/api/client";
import { useSession } from "@/shared/auth/session";

import { passwordMismatch } from "./invitation";

function problems(error: unknown): string[] {
  if (!(error instanceof ApiError)) return [error instanceof Error ? error.message : "It failed."];
  if (error.status === 401) return [error.detail];
  const listed = error.problem["errors"];
  if (Array.isArray(listed) && listed.length > 0)
    return listed.map((e) => String((e as { message?: unknown }).message ?? e));
  return [error.detail];
}

export function AcceptInvitationPage({ token, onDone }: { token: string; onDone: () => void }) {
  const { signIn } = useSession();
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [setFor, setSetFor] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password"));
    const mismatch = passwordMismatch(password, String(form.get("repeated")));
    if (mismatch) {
      setErrors([mismatch]);
      return;
    }
    setBusy(true);
    setErrors([]);
    let email: string;
    try {
      email = (
        await request(api.POST("/v1/auth/accept-invitation", { body: { token, password } }))
      ).email;
    } catch (e) {
      setErrors(problems(e));
      setBusy(false);
      return;
    }
    try {
      await signIn(email, password);
    } catch {
      // The password is set and the token used up: the sign-in page is the way on.
      setSetFor(email);
      setBusy(false);
      return;
    }
    setBusy(false);
    onDone();
  }

  if (setFor)
    return (
      <main id="main" className="sign-in">
        <h1>Your password is set</h1>
        <p role="status">
          Signing in did not work just now. Sign in as {setFor} with your new password.
        </p>
        <p>
          <a href="/" className="button primary" onClick={onDone}>
            Sign in
          </a>
        </p>
      </main>
    );

  return (
    <main id="main" className="sign-in">
      <h1>
        <span aria-hidden="true">✦</span> Northstar
      </h1>
      <form onSubmit={(e) => void submit(e)} aria-labelledby="invitation-heading">
        <h2 id="invitation-heading">Choose your password</h2>
        <p className="muted small">
          You were invited to Northstar. Choose a password of at least 12 characters; you sign
          in with your email address and this password from now on.
        </p>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            minLength={12}
            required
          />
        </label>
        <label>
          Password again
          <input name="repeated" type="password" autoComplete="new-password" required />
        </label>
        {errors.length > 0 && (
          <div className="error" role="alert" data-testid="invitation-errors">
            {errors.length === 1 ? (
              <p>{errors[0]}</p>
            ) : (
              <ul>
                {errors.map((e) => (
                  <li key={e}>{e}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : "Set password and sign in"}
        </button>
        <p className="muted small">
          <a href="/" onClick={onDone}>
            I already have a password: sign in
          </a>
        </p>
      </form>
    </main>
  );
}
