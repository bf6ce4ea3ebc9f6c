import { simpleParser } from "mailparser";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

// A real SMTP server in the test process (smtp-server, nodemailer's sibling), receiving what the
// drive sends through nodemailer. Requires AUTH with the given user and password (no TLS on
// loopback), records every accepted mail, and can be told to answer slowly or refuse.

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  receivedAt: number;
}

export interface SmtpSink {
  port: number;
  user: string;
  password: string;
  /** Env for the app: SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_SECURE, MAIL_FROM. */
  env: Record<string, string>;
  mails: ReceivedMail[];
  /** Resolves with the first mail (received from now on or already) that matches. */
  waitFor: (match: (mail: ReceivedMail) => boolean, timeoutMs?: number) => Promise<ReceivedMail>;
  /** Milliseconds to wait before accepting each message (a slow mail server). */
  setDelay: (ms: number) => void;
  /** Refuse every message with a permanent error while true. */
  setRefusing: (refusing: boolean) => void;
  stop: () => Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const user = "drive";
  const password = "smtp-test-password";
  const mails: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let delayMs = 0;
  let refusing = false;

  const server = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      return callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        void (async () => {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          if (refusing) {
            const error = Object.assign(new Error("Mailbox unavailable"), { responseCode: 550 });
            return callback(error);
          }
          const parsed = await simpleParser(Buffer.concat(chunks));
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            receivedAt: Date.now(),
          });
          for (const w of waiters) w();
          callback();
        })();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    user,
    password,
    env: {
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(port),
      SMTP_SECURE: "false",
      SMTP_USER: user,
      SMTP_PASSWORD: password,
      MAIL_FROM: "filestore test <drive@filestore.test>",
    },
    mails,
    waitFor(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = mails.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (received: ${mails.map((m) => `${m.to.join(",")}: ${m.subject}`).join("; ") || "none"})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setRefusing(value) {
      refusing = value;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first http(s) link in a mail's text. */
export function linkIn(mail: ReceivedMail): URL {
  const match = /https?:\/\/\S+/.exec(mail.text);
  if (!match) throw new Error(`no link in mail: ${mail.text}`);
  return new URL(match[0]);
}

/** The 6-digit code in a verification mail. */
export function codeIn(mail: ReceivedMail): string {
  const match = /^\s+([0-9]{6})\s*$/m.exec(mail.text);
  if (!match) throw new Error(`no code in mail: ${mail.text}`);
  return match[1]!;
}
