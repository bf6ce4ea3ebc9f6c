"use client";

import { useState, type FormEvent } from "react";
import { api } from "~/trpc/react";
import styles from "./accounts.module.css";
import { accountError, Badge, Message, Section, type Me } from "./ui";

// The account's email address: send a 6-digit code to an address, enter it to verify. Password
// resets are mailed to the verified address.

export function EmailSection({ me }: { me: Me }) {
  const utils = api.useUtils();
  const requestCode = api.user.requestEmailCode.useMutation();
  const verify = api.user.verifyEmail.useMutation();
  const remove = api.user.removeEmail.useMutation();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function send(email: string) {
    setError(null);
    setDone(null);
    try {
      const sent = await requestCode.mutateAsync({ email });
      setSentTo(sent.sentTo);
    } catch (e) {
      setError(accountError(e));
    }
  }

  async function onSend(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get("email") ?? "").trim();
    if (!email) return setError("Enter an email address.");
    await send(email);
  }

  async function onVerify(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").trim();
    setError(null);
    try {
      const { email } = await verify.mutateAsync({ code });
      setSentTo(null);
      setDone(`${email} is verified.`);
      await utils.user.me.invalidate();
    } catch (e) {
      const data = (e as { data?: { reason?: string; details?: { attemptsLeft?: number } | null } }).data;
      if (data?.reason === "wrong_code" && typeof data.details?.attemptsLeft === "number" && data.details.attemptsLeft > 0) {
        setError(`That code is not right. ${data.details.attemptsLeft} tries left.`);
      } else if (data?.reason === "wrong_code" || data?.reason === "too_many_attempts" || data?.reason === "no_code") {
        setSentTo(null);
        setError(
          data.reason === "no_code" ? "The code expired. Send a new one." : "Too many wrong codes. Send a new one.",
        );
      } else setError(accountError(e));
    }
  }

  return (
    <Section
      title="Email"
      testId="email-section"
      badge={me.email ? <Badge on={me.emailVerified}>{me.emailVerified ? "verified" : "not verified"}</Badge> : undefined}
    >
      <p className="muted">
        {me.email ? (
          <>
            Your address is <strong data-testid="current-email">{me.email}</strong>. Password-reset links are mailed there.
          </>
        ) : (
          "No address yet. Add one so that you can reset a forgotten password."
        )}
      </p>
      {error && <Message kind="error" testId="email-error">{error}</Message>}
      {done && <Message kind="success" testId="email-done">{done}</Message>}
      {sentTo ? (
        <form className={styles.form} onSubmit={onVerify} noValidate>
          <p style={{ margin: 0 }}>
            We sent a 6-digit code to <strong>{sentTo}</strong>. It works for 10 minutes.
          </p>
          <label>
            Code
            <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} pattern="[0-9]{6}" required autoFocus />
          </label>
          <div className={styles.actions}>
            <button className="button primary" type="submit" disabled={verify.isPending}>
              {verify.isPending ? "Checking…" : "Verify"}
            </button>
            <button className="button secondary" type="button" disabled={requestCode.isPending} onClick={() => void send(sentTo)}>
              Send a new code
            </button>
            <button className="link" type="button" onClick={() => setSentTo(null)}>
              Use another address
            </button>
          </div>
        </form>
      ) : (
        <form className={styles.form} onSubmit={onSend} noValidate>
          <label>
            {me.email ? "New address" : "Address"}
            <input name="email" type="email" autoComplete="email" maxLength={254} required />
          </label>
          <div className={styles.actions}>
            <button className="button primary" type="submit" disabled={requestCode.isPending}>
              {requestCode.isPending ? "Sending…" : "Send a code"}
            </button>
            {me.email && (
              <button
                className="button secondary"
                type="button"
                disabled={remove.isPending}
                onClick={async () => {
                  setError(null);
                  try {
                    await remove.mutateAsync();
                    setDone("Your address was removed.");
                    await utils.user.me.invalidate();
                  } catch (e) {
                    setError(accountError(e));
                  }
                }}
              >
                Remove the address
              </button>
            )}
          </div>
        </form>
      )}
    </Section>
  );
}
