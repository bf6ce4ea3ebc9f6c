"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { errorCode, errorMessage } from "~/app/_components/errors";
import { api } from "~/trpc/react";

// Forgotten passwords: ask for a link (by username or email), then choose a new password with the
// token from the mail. The first answer is the same whether or not the account exists.

function retryText(seconds: unknown): string {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return "later";
  return n < 90 ? `in ${Math.ceil(n)} seconds` : `in ${Math.ceil(n / 60)} minutes`;
}

export function ForgotPasswordForm() {
  const request = api.auth.requestPasswordReset.useMutation();
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const who = String(new FormData(event.currentTarget).get("who") ?? "").trim();
    if (!who) {
      setError("Enter your username or your email address.");
      return;
    }
    setError(null);
    try {
      await request.mutateAsync(who.includes("@") ? { email: who } : { username: who });
      setSent(true);
    } catch (e) {
      const details = (e as { data?: { details?: { retryAfter?: number } | null } }).data?.details;
      setError(
        errorCode(e) === "TOO_MANY_REQUESTS"
          ? `Too many requests from your network. Try again ${retryText(details?.retryAfter)}.`
          : errorMessage(e),
      );
    }
  }

  if (sent) {
    return (
      <div className="card auth-card" data-testid="reset-requested">
        <h1>Check your mail</h1>
        <p className="muted">
          If an account matches and has a verified email address, a link to choose a new password is on its way. It
          works once, for a limited time.
        </p>
        <p className="switch">
          <Link href="/signin">Back to sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Forgot your password?</h1>
      <p className="muted">We will mail a link to the verified address of your account.</p>
      {error && (
        <div className="notice error" role="alert" data-testid="form-error">
          {error}
        </div>
      )}
      <label>
        Username or email
        <input name="who" autoComplete="username" required autoFocus />
      </label>
      <button className="button primary" type="submit" disabled={request.isPending}>
        {request.isPending ? "Sending…" : "Send the link"}
      </button>
      <p className="switch">
        <Link href="/signin">Back to sign in</Link>
      </p>
    </form>
  );
}

export function ResetPasswordForm({ token }: { token: string | null }) {
  const reset = api.auth.resetPassword.useMutation();
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);

  if (!token) {
    return (
      <div className="card auth-card">
        <h1>Reset your password</h1>
        <div className="notice error" role="alert" data-testid="form-error">
          This page needs the link from the reset mail.
        </div>
        <p className="switch">
          <Link href="/forgot-password">Ask for a new link</Link>
        </p>
      </div>
    );
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password") ?? "");
    const confirm = String(form.get("confirm") ?? "");
    setError(null);
    if (password.length < 8 || password.length > 128) return setFieldError("Passwords are 8 to 128 characters.");
    if (password !== confirm) return setFieldError("The passwords do not match.");
    setFieldError(null);
    try {
      await reset.mutateAsync({ token: token!, password });
      window.location.assign("/signin?reset=done");
    } catch (e) {
      const reason = (e as { data?: { reason?: string } }).data?.reason;
      setError(
        reason === "invalid_token"
          ? "This link does not work any more: it was used, replaced by a newer one, or has expired."
          : errorMessage(e),
      );
    }
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} noValidate>
      <h1>Choose a new password</h1>
      <p className="muted">Every place you are signed in will be signed out.</p>
      {error && (
        <div className="notice error" role="alert" data-testid="form-error">
          {error}{" "}
          <Link href="/forgot-password">
            Ask for a new link
          </Link>
        </div>
      )}
      <label>
        New password
        <input name="password" type="password" autoComplete="new-password" required autoFocus aria-invalid={!!fieldError} />
        {fieldError ? (
          <span className="field-error" data-testid="password-error">
            {fieldError}
          </span>
        ) : (
          <span className="hint">At least 8 characters</span>
        )}
      </label>
      <label>
        Confirm new password
        <input name="confirm" type="password" autoComplete="new-password" required />
      </label>
      <button className="button primary" type="submit" disabled={reset.isPending}>
        {reset.isPending ? "Saving…" : "Set the new password"}
      </button>
    </form>
  );
}
