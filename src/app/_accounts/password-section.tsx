"use client";

import { useState, type FormEvent } from "react";
import { api } from "~/trpc/react";
import styles from "./accounts.module.css";
import { accountError, Message, Section } from "./ui";

// Changing the password: the current one, then the new one twice. Every other sign-in ends.

export function PasswordSection() {
  const change = api.user.changePassword.useMutation();
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const current = String(form.get("current") ?? "");
    const next = String(form.get("next") ?? "");
    const confirm = String(form.get("confirm") ?? "");
    setDone(false);
    if (!current) return setError("Enter your current password.");
    if (next.length < 8 || next.length > 128) return setError("New passwords are 8 to 128 characters.");
    if (next !== confirm) return setError("The new passwords do not match.");
    setError(null);
    try {
      await change.mutateAsync({ current, next });
      formElement.reset();
      setDone(true);
    } catch (e) {
      const reason = (e as { data?: { reason?: string } }).data?.reason;
      setError(reason === "wrong_password" ? "That is not your current password." : accountError(e));
    }
  }

  return (
    <Section title="Password" testId="password-section">
      <p className="muted">Changing it signs you out everywhere else.</p>
      {error && <Message kind="error" testId="password-error">{error}</Message>}
      {done && (
        <Message kind="success" testId="password-done">
          Your password was changed. Every other sign-in was ended.
        </Message>
      )}
      <form className={styles.form} onSubmit={onSubmit} noValidate>
        <label>
          Current password
          <input name="current" type="password" autoComplete="current-password" required />
        </label>
        <label>
          New password
          <input name="next" type="password" autoComplete="new-password" required />
        </label>
        <label>
          Confirm new password
          <input name="confirm" type="password" autoComplete="new-password" required />
        </label>
        <div className={styles.actions}>
          <button className="button primary" type="submit" disabled={change.isPending}>
            {change.isPending ? "Saving…" : "Change password"}
          </button>
        </div>
      </form>
    </Section>
  );
}
