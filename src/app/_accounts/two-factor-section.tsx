"use client";

import { useState, type FormEvent } from "react";
import { api, type RouterOutputs } from "~/trpc/react";
import styles from "./accounts.module.css";
import { accountError, Badge, Message, Section, type Me } from "./ui";

// Two-factor sign-in (TOTP): turn on with the password, scan the QR code (or type the key), confirm
// with a code, then save the recovery codes shown this once. Turning off and new recovery codes
// need the password too.

type Setup = RouterOutputs["user"]["twoFactorSetup"];
type Step =
  | { kind: "idle" }
  | { kind: "password"; purpose: "setup" | "disable" | "codes" }
  | { kind: "scan"; setup: Setup }
  | { kind: "codes"; codes: string[] };

const PASSWORD_PROMPT: Record<"setup" | "disable" | "codes", { label: string; button: string }> = {
  setup: { label: "Confirm your password to set up two-factor sign-in", button: "Continue" },
  disable: { label: "Confirm your password to turn two-factor sign-in off", button: "Turn off" },
  codes: { label: "Confirm your password to make new recovery codes (the old ones stop working)", button: "Make new codes" },
};

function downloadCodes(username: string, codes: string[]) {
  const text = `filestore recovery codes for ${username}\nEach code signs in once instead of an authenticator code.\n\n${codes.join("\n")}\n`;
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: "filestore-recovery-codes.txt" });
  a.click();
  URL.revokeObjectURL(url);
}

export function TwoFactorSection({ me }: { me: Me }) {
  const utils = api.useUtils();
  const setup = api.user.twoFactorSetup.useMutation();
  const enable = api.user.twoFactorEnable.useMutation();
  const disable = api.user.twoFactorDisable.useMutation();
  const regenerate = api.user.twoFactorRecoveryCodes.useMutation();
  const left = api.user.recoveryCodesLeft.useQuery(undefined, { enabled: me.twoFactor });
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const busy = setup.isPending || enable.isPending || disable.isPending || regenerate.isPending;

  const go = (next: Step) => {
    setError(null);
    setStep(next);
  };

  async function onPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (step.kind !== "password") return;
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    if (!password) return setError("Enter your password.");
    setError(null);
    setDone(null);
    try {
      if (step.purpose === "setup") go({ kind: "scan", setup: await setup.mutateAsync({ password }) });
      else if (step.purpose === "codes") go({ kind: "codes", codes: (await regenerate.mutateAsync({ password })).recoveryCodes });
      else {
        await disable.mutateAsync({ password });
        go({ kind: "idle" });
        setDone("Two-factor sign-in is off.");
        await utils.user.me.invalidate();
      }
    } catch (e) {
      const reason = (e as { data?: { reason?: string } }).data?.reason;
      setError(reason === "wrong_password" ? "That is not your password." : accountError(e));
    }
  }

  async function onCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").trim();
    if (!/^[0-9]{6}$/.test(code)) return setError("Enter the 6-digit code your app shows.");
    setError(null);
    try {
      const { recoveryCodes } = await enable.mutateAsync({ code });
      go({ kind: "codes", codes: recoveryCodes });
      await utils.user.me.invalidate();
      await utils.user.recoveryCodesLeft.invalidate();
    } catch (e) {
      const reason = (e as { data?: { reason?: string } }).data?.reason;
      setError(reason === "otp_invalid" ? "That code is not right. Check that your phone's clock is correct and try the newest code." : accountError(e));
    }
  }

  return (
    <Section title="Two-factor sign-in" testId="two-factor-section" badge={<Badge on={me.twoFactor}>{me.twoFactor ? "on" : "off"}</Badge>}>
      <p className="muted">
        {me.twoFactor
          ? "Signing in asks for a code from your authenticator app after your password."
          : "Add a code from an authenticator app (Google Authenticator, 1Password, Aegis…) to your password."}
      </p>
      {error && <Message kind="error" testId="two-factor-error">{error}</Message>}
      {done && <Message kind="success" testId="two-factor-done">{done}</Message>}

      {step.kind === "idle" && (
        <div className={styles.actions}>
          {me.twoFactor ? (
            <>
              <span className="muted" style={{ margin: 0 }} data-testid="codes-left">
                {left.data === undefined ? "" : `${left.data} recovery code${left.data === 1 ? "" : "s"} left.`}
              </span>
              <button className="button secondary" type="button" onClick={() => go({ kind: "password", purpose: "codes" })}>
                New recovery codes
              </button>
              <button className="button secondary" type="button" onClick={() => go({ kind: "password", purpose: "disable" })}>
                Turn off
              </button>
            </>
          ) : (
            <button className="button primary" type="button" onClick={() => go({ kind: "password", purpose: "setup" })}>
              Turn on two-factor sign-in
            </button>
          )}
        </div>
      )}

      {step.kind === "password" && (
        <form className={styles.form} onSubmit={onPassword} noValidate>
          <label>
            {PASSWORD_PROMPT[step.purpose].label}
            <input name="password" type="password" autoComplete="current-password" required autoFocus />
          </label>
          <div className={styles.actions}>
            <button className="button primary" type="submit" disabled={busy}>
              {busy ? "Checking…" : PASSWORD_PROMPT[step.purpose].button}
            </button>
            <button className="button secondary" type="button" onClick={() => go({ kind: "idle" })}>
              Cancel
            </button>
          </div>
        </form>
      )}

      {step.kind === "scan" && (
        <form onSubmit={onCode} noValidate>
          <div className={styles.enrol}>
            {/* a data: URL from the server; next/image adds nothing for it */}
            <img className={styles.qr} src={step.setup.qrDataUrl} alt="QR code to scan with your authenticator app" data-testid="totp-qr" />
            <div className={styles.form}>
              <p style={{ margin: 0 }}>1. Scan the code with your authenticator app.</p>
              <p style={{ margin: 0 }}>
                Cannot scan? Enter this key:
                <br />
                <span className={styles.secret} data-testid="totp-secret">
                  {step.setup.secret.replace(/(.{4})/g, "$1 ").trim()}
                </span>
              </p>
              <label>
                2. Enter the 6-digit code the app shows
                <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} required autoFocus />
              </label>
              <div className={styles.actions}>
                <button className="button primary" type="submit" disabled={busy}>
                  {busy ? "Checking…" : "Turn on"}
                </button>
                <button className="button secondary" type="button" onClick={() => go({ kind: "idle" })}>
                  Cancel
                </button>
              </div>
            </div>
          </div>
        </form>
      )}

      {step.kind === "codes" && (
        <div data-testid="recovery-codes">
          <Message kind="success">
            Two-factor sign-in is on. Save these recovery codes somewhere safe: each signs in once if you lose your phone. They
            are shown only now.
          </Message>
          <ul className={styles.codes}>
            {step.codes.map((code) => (
              <li key={code}>{code}</li>
            ))}
          </ul>
          <div className={styles.actions}>
            <button className="button secondary" type="button" onClick={() => downloadCodes(me.username, step.codes)}>
              Download
            </button>
            <button className="button secondary" type="button" onClick={() => void navigator.clipboard?.writeText(step.codes.join("\n"))}>
              Copy
            </button>
            <button
              className="button primary"
              type="button"
              onClick={() => {
                go({ kind: "idle" });
                void utils.user.recoveryCodesLeft.invalidate();
              }}
            >
              I have saved them
            </button>
          </div>
        </div>
      )}
    </Section>
  );
}
