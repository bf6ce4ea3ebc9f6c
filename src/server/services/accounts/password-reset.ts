import { createHash, randomBytes } from "node:crypto";
import { env } from "~/env";
import { hashPassword } from "~/server/auth/passwords";
import { revokeUserSessions } from "~/server/auth/revocation";
import { clearUserFailures, hitLimit } from "~/server/auth/throttle";
import { runTransaction } from "~/server/db/transaction";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { sendMailLater } from "~/server/mail/mailer";
import { passwordChangedMail, passwordResetMail } from "~/server/mail/messages";
import { logger } from "~/server/log";

const log = logger("accounts");

// Forgotten passwords. `auth.requestPasswordReset` answers the same, at the same speed, whether or
// not the account exists: the request only validates its input and counts it against its address,
// and everything that depends on the account (the lookup, the link, the mail) runs after the answer
// has gone. A link goes only to a verified address; it carries 256 random bits, only their sha256
// is stored, it works once and for PASSWORD_RESET_TTL_MINUTES, and a newer link replaces it.
// Using it sets the new password and ends every sign-in of the account. Two-factor stays on.
// The PasswordResetToken row has one owner: this module.

const TOKEN_BYTES = 32;
export const RESET_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Reset requests per client address per hour, and reset mails per account per hour. */
const REQUESTS_PER_ADDRESS = 10;
const MAILS_PER_ACCOUNT = 3;
const HOUR = 3600;

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

export type ResetRequest = { username: string } | { email: string };

export async function requestPasswordReset(input: ResetRequest, origin: { clientIp: string }): Promise<{ ok: true }> {
  if (origin.clientIp && origin.clientIp !== "unknown") {
    await hitLimit(`acct:reset:addr:${origin.clientIp}`, REQUESTS_PER_ADDRESS, HOUR, "Too many reset requests from your address; try again later");
  }
  setImmediate(() => {
    deliverResetLink(input).catch((e: unknown) => log.error({ err: e }, "password reset not sent"));
  });
  return { ok: true };
}

async function deliverResetLink(input: ResetRequest, now = new Date()): Promise<void> {
  const user = await db.$primary().user.findUnique({
    where: "username" in input ? { username: input.username } : { email: input.email.toLowerCase() },
    select: { id: true, username: true, email: true, emailVerifiedAt: true, disabledAt: true },
  });
  if (!user || user.disabledAt !== null || user.email === null || user.emailVerifiedAt === null) return;
  try {
    await hitLimit(`acct:reset:user:${user.id}`, MAILS_PER_ACCOUNT, HOUR, "too many reset mails");
  } catch (e) {
    if (e instanceof DomainError && e.code === "TOO_MANY_REQUESTS") {
      log.warn(`password reset for ${user.username} not sent: ${MAILS_PER_ACCOUNT} already this hour`);
      return;
    }
    throw e;
  }
  const { url } = await issueResetLink(user.id, now);
  sendMailLater(passwordResetMail(user.email, user.username, url, env.PASSWORD_RESET_TTL_MINUTES), "password reset");
}

/** A new reset link for the account (the older ones stop working). Mailed, or handed out by an admin. */
export async function issueResetLink(userId: string, now = new Date()): Promise<{ url: string; expiresAt: Date }> {
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  const expiresAt = new Date(now.getTime() + env.PASSWORD_RESET_TTL_MINUTES * 60_000);
  await runTransaction(async (tx) => {
    // only the newest link works
    await tx.passwordResetToken.updateMany({ where: { userId, usedAt: null }, data: { usedAt: now } });
    await tx.passwordResetToken.create({ data: { userId, tokenHash: hashToken(token), expiresAt, createdAt: now } });
  });
  const link = new URL("/reset-password", env.NEXTAUTH_URL);
  link.searchParams.set("token", token);
  return { url: link.toString(), expiresAt };
}

const invalidLink = () =>
  new DomainError("BAD_REQUEST", "This reset link is not valid: it was used, replaced by a newer one, or has expired", {
    details: { reason: "invalid_token" },
  });

/** `auth.resetPassword`: sets the password and ends every sign-in. Returns the username, to sign in with. */
export async function resetPassword(
  input: { token: string; password: string },
  origin: { clientIp: string },
  now = new Date(),
): Promise<{ ok: true; username: string }> {
  if (!RESET_TOKEN.test(input.token)) throw invalidLink();
  const row = await db.$primary().passwordResetToken.findUnique({
    where: { tokenHash: hashToken(input.token) },
    select: { id: true, usedAt: true, expiresAt: true, user: { select: { id: true, username: true, email: true, disabledAt: true } } },
  });
  if (!row || row.usedAt !== null || row.expiresAt <= now || row.user.disabledAt !== null) throw invalidLink();
  const passwordHash = await hashPassword(input.password);
  await runTransaction(async (tx) => {
    const claimed = await tx.passwordResetToken.updateMany({
      where: { id: row.id, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    if (claimed.count !== 1) throw invalidLink();
    await tx.user.update({ where: { id: row.user.id }, data: { passwordHash } });
    await revokeUserSessions(row.user.id, { now }, tx);
  });
  await clearUserFailures(row.user.username, origin.clientIp);
  if (row.user.email) sendMailLater(passwordChangedMail(row.user.email, row.user.username, "reset"), "password-reset notice");
  return { ok: true, username: row.user.username };
}
