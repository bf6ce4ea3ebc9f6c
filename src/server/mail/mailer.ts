import nodemailer, { type Transporter } from "nodemailer";
import { env } from "~/env";

// Outgoing mail through SMTP (nodemailer), configured by SMTP_* and MAIL_FROM. Without SMTP_HOST
// nothing is sent: the mail is written to the server log instead (development, or a drive whose
// operator reads codes from the log), and README "Accounts" says so.

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

let transport: Transporter | undefined;

function transporter(): Transporter | null {
  if (!env.SMTP_HOST) return null;
  transport ??= nodemailer.createTransport({
    host: env.SMTP_HOST,
    port: env.SMTP_PORT,
    secure: env.SMTP_SECURE,
    auth: env.SMTP_USER ? { user: env.SMTP_USER, pass: env.SMTP_PASSWORD ?? "" } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
  return transport;
}

export function mailFrom(): string {
  return env.MAIL_FROM ?? `filestore <no-reply@${new URL(env.NEXTAUTH_URL).hostname}>`;
}

/** Sends one mail (or logs it when no SMTP server is configured). Rejects when SMTP refuses it. */
export async function sendMail(mail: Mail): Promise<void> {
  const smtp = transporter();
  if (!smtp) {
    console.info(`[mail] SMTP_HOST is not set; not sent, logged instead:\nTo: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n[mail] end`);
    return;
  }
  await smtp.sendMail({ from: mailFrom(), to: mail.to, subject: mail.subject, text: mail.text });
}

const RETRY_DELAYS_MS = [2_000, 15_000, 60_000];

/**
 * Sends a mail after the current request has answered, retrying a failed delivery a few times. For
 * mail whose sending must not show in the answer or its timing (password resets: the same answer
 * whether or not an account exists). A mail still failing after the retries is logged and dropped;
 * the user asks again.
 */
export function sendMailLater(mail: Mail, what: string): void {
  const attempt = async (n: number): Promise<void> => {
    try {
      await sendMail(mail);
    } catch (e) {
      const delay = RETRY_DELAYS_MS[n];
      const reason = e instanceof Error ? e.message : String(e);
      if (delay === undefined) {
        console.error(`[mail] ${what} to ${mail.to} not delivered after ${n + 1} attempts: ${reason}`);
        return;
      }
      console.warn(`[mail] ${what} to ${mail.to} failed (${reason}); retrying in ${delay / 1000} s`);
      setTimeout(() => void attempt(n + 1), delay).unref();
    }
  };
  setImmediate(() => void attempt(0));
}
