"use client";

import { signIn } from "next-auth/react";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api } from "~/trpc/react";

// The sign-in and sign-up forms. Both end in next-auth's credentials sign-in, which sets the
// session cookie; sign-up first creates the account through `auth.signup`.

/** Same rules as the server (src/server/services/users.ts), checked here only to answer sooner. */
const USERNAME_PATTERN = "[a-zA-Z0-9_.\\-]{3,32}";

function retryText(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return "later";
  if (seconds < 90) return `in ${Math.ceil(seconds)} seconds`;
  return `in ${Math.ceil(seconds / 60)} minutes`;
}

/** next-auth's error string (see src/server/auth/next-auth.ts, SIGNIN_ERROR) → a sentence. */
function signinErrorMessage(error: string): string {
  if (error === "CredentialsSignin") return "Wrong username or password.";
  if (error.startsWith("THROTTLED:")) {
    return `Too many failed sign-ins. Try again ${retryText(Number(error.slice("THROTTLED:".length)))}.`;
  }
  return "Sign-in failed. Please try again.";
}

/** Signs in through next-auth; null on success, else the message to show. */
async function signInWithPassword(username: string, password: string): Promise<string | null> {
  const result = await signIn("credentials", { username, password, redirect: false });
  if (!result) return "Sign-in failed. Please try again.";
  if (result.error) return signinErrorMessage(result.error);
  return null;
}

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function SignInForm({ next, initialError }: { next?: string; initialError?: string }) {
  const [error, setError] = useState<string | null>(initialError ? signinErrorMessage(initialError) : null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    const message = await signInWithPassword(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
    if (message) {
      setError(message);
      setBusy(false);
      return;
    }
    // A full navigation, so the server renders the drive with the new session cookie.
    window.location.assign(safeNext(next));
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Sign in</h1>
      <p className="muted">to your filestore drive</p>
      {error && (
        <div className="notice error" role="alert" data-testid="form-error">
          {error}
        </div>
      )}
      <label>
        Username
        <input name="username" autoComplete="username" required autoFocus />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button className="button primary" type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p className="switch">
        No account yet? <Link href="/signup">Create one</Link>
      </p>
    </form>
  );
}

type FieldErrors = Partial<Record<"username" | "password" | "confirm", string>>;

export function SignUpForm() {
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const signup = api.auth.signup.useMutation();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get("username") ?? "");
    const password = String(form.get("password") ?? "");
    const confirm = String(form.get("confirm") ?? "");
    setError(null);

    const local: FieldErrors = {};
    if (!new RegExp(`^${USERNAME_PATTERN}$`).test(username)) {
      local.username = "3 to 32 characters: letters, digits, '_', '.' or '-'.";
    }
    if (password.length < 8 || password.length > 128) local.password = "Passwords are 8 to 128 characters.";
    else if (password !== confirm) local.confirm = "The passwords do not match.";
    setFieldErrors(local);
    if (Object.keys(local).length > 0) return;

    setBusy(true);
    try {
      await signup.mutateAsync({ username, password });
    } catch (e) {
      const data = (e as { data?: { code?: string; zodError?: { fieldErrors?: Record<string, string[]> } | null; details?: { retryAfter?: number } | null } }).data;
      if (data?.code === "CONFLICT") setFieldErrors({ username: "That username is taken." });
      else if (data?.code === "TOO_MANY_REQUESTS") {
        setError(`Too many sign-ups from your network. Try again ${retryText(Number(data.details?.retryAfter))}.`);
      } else if (data?.code === "BAD_REQUEST" && data.zodError?.fieldErrors) {
        const f = data.zodError.fieldErrors;
        setFieldErrors({ username: f.username?.[0], password: f.password?.[0] });
      } else setError("Could not create your account. Please try again.");
      setBusy(false);
      return;
    }
    const message = await signInWithPassword(username, password);
    if (message) {
      setError(`Your account was created, but signing in failed: ${message}`);
      setBusy(false);
      return;
    }
    window.location.assign("/");
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Create your drive</h1>
      <p className="muted">Pick a username and a password</p>
      {error && (
        <div className="notice error" role="alert" data-testid="form-error">
          {error}
        </div>
      )}
      <label>
        Username
        <input name="username" autoComplete="username" required autoFocus aria-invalid={!!fieldErrors.username} />
        {fieldErrors.username ? (
          <span className="field-error" data-testid="username-error">
            {fieldErrors.username}
          </span>
        ) : (
          <span className="hint">3-32 letters, digits, _ . -</span>
        )}
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="new-password" required aria-invalid={!!fieldErrors.password} />
        {fieldErrors.password ? (
          <span className="field-error" data-testid="password-error">
            {fieldErrors.password}
          </span>
        ) : (
          <span className="hint">At least 8 characters</span>
        )}
      </label>
      <label>
        Confirm password
        <input name="confirm" type="password" autoComplete="new-password" required aria-invalid={!!fieldErrors.confirm} />
        {fieldErrors.confirm && (
          <span className="field-error" data-testid="confirm-error">
            {fieldErrors.confirm}
          </span>
        )}
      </label>
      <button className="button primary" type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create account"}
      </button>
      <p className="switch">
        Already have an account? <Link href="/signin">Sign in</Link>
      </p>
    </form>
  );
}
