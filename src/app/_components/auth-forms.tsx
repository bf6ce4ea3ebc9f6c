"use client";

import { signIn } from "next-auth/react";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import styles from "~/app/_accounts/accounts.module.css";
import { api } from "~/trpc/react";

// The sign-in and sign-up forms. Both end in next-auth's credentials sign-in, which sets the
// session cookie; sign-up first creates the account through `auth.signup`. For an account with
// two-factor on, sign-in has a second step asking for the code (the server answers OTP_REQUIRED).

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
  if (error === "OTP_INVALID") return "That code is not right. Try the newest code from your app, or a recovery code.";
  if (error === "ACCOUNT_DISABLED") return "This account is disabled. Ask the drive's administrator.";
  if (error.startsWith("THROTTLED:")) {
    return `Too many failed sign-ins. Try again ${retryText(Number(error.slice("THROTTLED:".length)))}.`;
  }
  return "Sign-in failed. Please try again.";
}

type SigninOutcome = { ok: true } | { ok: false; needsCode: boolean; message: string | null };

/** Signs in through next-auth (with the two-factor code when there is one). */
async function signInWithPassword(username: string, password: string, otp?: string): Promise<SigninOutcome> {
  const result = await signIn("credentials", { username, password, otp: otp ?? "", redirect: false });
  if (!result) return { ok: false, needsCode: false, message: "Sign-in failed. Please try again." };
  if (result.error === "OTP_REQUIRED") return { ok: false, needsCode: true, message: null };
  if (result.error) return { ok: false, needsCode: result.error === "OTP_INVALID", message: signinErrorMessage(result.error) };
  return { ok: true };
}

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function SignInForm({ next, initialError, notice }: { next?: string; initialError?: string; notice?: string }) {
  const [error, setError] = useState<string | null>(initialError ? signinErrorMessage(initialError) : null);
  const [busy, setBusy] = useState(false);
  // After the right password for an account with two-factor on: the code step keeps both.
  const [pending, setPending] = useState<{ username: string; password: string } | null>(null);

  async function finish(outcome: SigninOutcome, credentials: { username: string; password: string }) {
    if (outcome.ok) {
      // A full navigation, so the server renders the drive with the new session cookie.
      window.location.assign(safeNext(next));
      return;
    }
    if (outcome.needsCode) setPending(credentials);
    setError(outcome.message);
    setBusy(false);
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const credentials = { username: String(form.get("username") ?? ""), password: String(form.get("password") ?? "") };
    setBusy(true);
    setError(null);
    await finish(await signInWithPassword(credentials.username, credentials.password), credentials);
  }

  async function onCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!pending) return;
    const code = String(new FormData(event.currentTarget).get("otp") ?? "").trim();
    if (!code) {
      setError("Enter the code from your authenticator app.");
      return;
    }
    setBusy(true);
    setError(null);
    await finish(await signInWithPassword(pending.username, pending.password, code), pending);
  }

  if (pending) {
    return (
      <form className="card auth-card" onSubmit={onCode} noValidate data-testid="otp-step">
        <h1>Two-factor sign-in</h1>
        <p className="muted">
          Enter the 6-digit code your authenticator app shows for <strong>{pending.username}</strong>, or one of your
          recovery codes.
        </p>
        {error && (
          <div className="notice error" role="alert" data-testid="form-error">
            {error}
          </div>
        )}
        <label>
          Code
          <input
            key="otp"
            name="otp"
            autoComplete="one-time-code"
            inputMode="text"
            maxLength={32}
            required
            autoFocus
            spellCheck={false}
          />
        </label>
        <button className="button primary" type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="switch">
          <button
            type="button"
            className="link"
            onClick={() => {
              setPending(null);
              setError(null);
            }}
          >
            Use another account
          </button>
        </p>
      </form>
    );
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Sign in</h1>
      <p className="muted">to your filestore drive</p>
      {notice && !error && (
        <div className={`notice ${styles.success}`} role="status" data-testid="form-notice">
          {notice}
        </div>
      )}
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
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
      <p className="switch" style={{ marginTop: "0.5rem" }}>
        No account yet? <Link href="/signup">Create one</Link>
      </p>
    </form>
  );
}

type FieldErrors = Partial<Record<"username" | "password" | "confirm", string>>;

export interface SignupPolicy {
  mode: "open" | "invite" | "closed";
  firstAccount: boolean;
}

export function SignUpForm({ policy = { mode: "open", firstAccount: false }, invite }: { policy?: SignupPolicy; invite?: string }) {
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const signup = api.auth.signup.useMutation();
  const needsInvite = policy.mode === "invite" && !policy.firstAccount;

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

    const inviteCode = needsInvite ? String(form.get("invite") ?? "").trim() : undefined;
    if (needsInvite && !inviteCode) {
      setError("Sign-up on this drive needs an invitation: open the link you were given.");
      return;
    }

    setBusy(true);
    try {
      await signup.mutateAsync({ username, password, ...(inviteCode ? { invite: inviteCode } : {}) });
    } catch (e) {
      const data = (
        e as {
          data?: {
            code?: string;
            reason?: string;
            zodError?: { fieldErrors?: Record<string, string[]> } | null;
            details?: { retryAfter?: number } | null;
          };
        }
      ).data;
      if (data?.code === "CONFLICT") setFieldErrors({ username: "That username is taken." });
      else if (data?.reason === "invite_invalid") setError("This invitation is not valid any more: it was used, revoked or has expired.");
      else if (data?.reason === "invite_required") setError("Sign-up on this drive needs an invitation.");
      else if (data?.reason === "signup_closed") setError("Sign-up is closed on this drive.");
      else if (data?.code === "TOO_MANY_REQUESTS") {
        setError(`Too many sign-ups from your network. Try again ${retryText(Number(data.details?.retryAfter))}.`);
      } else if (data?.code === "BAD_REQUEST" && data.zodError?.fieldErrors) {
        const f = data.zodError.fieldErrors;
        setFieldErrors({ username: f.username?.[0], password: f.password?.[0] });
      } else setError("Could not create your account. Please try again.");
      setBusy(false);
      return;
    }
    const outcome = await signInWithPassword(username, password);
    if (!outcome.ok) {
      setError(`Your account was created, but signing in failed: ${outcome.message ?? "try signing in."}`);
      setBusy(false);
      return;
    }
    window.location.assign("/");
  }

  if (policy.mode === "closed" && !policy.firstAccount) {
    return (
      <div className="card auth-card" data-testid="signup-closed">
        <h1>Sign-up is closed</h1>
        <p className="muted">This drive does not take new accounts. Ask its administrator for one.</p>
        <p className="switch">
          Already have an account? <Link href="/signin">Sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Create your drive</h1>
      <p className="muted">
        {policy.firstAccount
          ? "This is the drive's first account: it will be the administrator."
          : needsInvite
            ? "You need an invitation to sign up here."
            : "Pick a username and a password"}
      </p>
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
      {needsInvite && (
        <label>
          Invitation code
          <input name="invite" defaultValue={invite ?? ""} readOnly={Boolean(invite)} required spellCheck={false} />
        </label>
      )}
      <button className="button primary" type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create account"}
      </button>
      <p className="switch">
        Already have an account? <Link href="/signin">Sign in</Link>
      </p>
    </form>
  );
}
