import { randomInt } from "node:crypto";
import { z } from "zod";
import type { Actor } from "~/server/auth/actor";
import { keyedHash, keyedHashMatches } from "~/server/auth/keys";
import { assertRedisReady, hitLimit, tooManyRequests } from "~/server/auth/throttle";
import { db, Prisma } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { sendMail, sendMailLater } from "~/server/mail/mailer";
import { emailChangedMail, emailCodeMail } from "~/server/mail/messages";
import { redis } from "~/server/redis/client";
import { logger } from "~/server/log";

const log = logger("accounts");

// An account's email address: `user.requestEmailCode({ email })` mails a 6-digit code,
// `user.verifyEmail({ code })` makes the address the account's (verified) email. The seed kept
// codes in Redis; here the code is stored as an HMAC (a copy of Redis does not reveal it), lives
// 10 minutes, allows 5 tries, and a new one can be asked for once a minute, 10 times an hour per
// account and 5 times an hour per address (so the drive cannot be used to flood someone's inbox).
// Only a verified address is stored in MariaDB; the address waiting for its code lives with the
// code. When the address changes, the old one is told.

export const CODE_TTL_SECONDS = 600;
export const CODE_MAX_ATTEMPTS = 5;
const RESEND_SPACING_SECONDS = 60;
const CODES_PER_ACCOUNT_PER_HOUR = 10;
const CODES_PER_ADDRESS_PER_HOUR = 5;

export const emailSchema = z
  .string()
  .trim()
  .max(254, "Email addresses are at most 254 characters")
  .pipe(z.email("That is not an email address"))
  .transform((v) => v.toLowerCase());

const keys = {
  code: (userId: string) => `acct:email-code:${userId}`,
  spacing: (userId: string) => `acct:email-code-spacing:${userId}`,
  perAccount: (userId: string) => `acct:email-code-hour:${userId}`,
  perAddress: (email: string) => `acct:email-code-addr:${keyedHash("email code", `address\n${email}`)}`,
};

const codeMac = (userId: string, email: string, code: string) => keyedHash("email code", `${userId}\n${email}\n${code}`);

const redisDown = (e: unknown) => new DomainError("SERVICE_UNAVAILABLE", "Email verification is unavailable right now; try again in a moment", { cause: e });

export async function requestEmailCode(actor: Actor, email: string, now = new Date()): Promise<{ sentTo: string; expiresAt: Date }> {
  const user = await db.$primary().user.findUnique({ where: { id: actor.userId }, select: { username: true, email: true } });
  if (!user) throw new DomainError("UNAUTHORIZED", "This account no longer exists");
  if (user.email === email) {
    throw new DomainError("BAD_REQUEST", "This address is already verified on your account", { details: { field: "email" } });
  }

  let spaced: string | null;
  try {
    assertRedisReady();
    spaced = await redis.set(keys.spacing(actor.userId), "1", "EX", RESEND_SPACING_SECONDS, "NX");
  } catch (e) {
    throw redisDown(e);
  }
  if (spaced === null) {
    const ttl = await redis.pttl(keys.spacing(actor.userId)).catch(() => RESEND_SPACING_SECONDS * 1000);
    throw tooManyRequests(ttl > 0 ? ttl : RESEND_SPACING_SECONDS * 1000, "A code was sent less than a minute ago; wait before asking again");
  }
  const limitOpts = { failClosed: true };
  await hitLimit(keys.perAccount(actor.userId), CODES_PER_ACCOUNT_PER_HOUR, 3600, "Too many codes asked for this hour", limitOpts);
  await hitLimit(keys.perAddress(email), CODES_PER_ADDRESS_PER_HOUR, 3600, "Too many codes sent to this address this hour", limitOpts);

  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  try {
    await redis
      .multi()
      .del(keys.code(actor.userId))
      .hset(keys.code(actor.userId), { email, mac: codeMac(actor.userId, email, code), attempts: "0" })
      .expire(keys.code(actor.userId), CODE_TTL_SECONDS)
      .exec();
  } catch (e) {
    throw redisDown(e);
  }
  try {
    await sendMail(emailCodeMail(email, user.username, code, CODE_TTL_SECONDS / 60));
  } catch (e) {
    log.error({ err: e }, `verification code to ${email} not sent`);
    await redis.del(keys.code(actor.userId), keys.spacing(actor.userId)).catch(() => {});
    throw new DomainError("SERVICE_UNAVAILABLE", "The mail could not be sent; check the address or try again later", { cause: e });
  }
  return { sentTo: email, expiresAt: new Date(now.getTime() + CODE_TTL_SECONDS * 1000) };
}

// Counts an attempt and returns the pending code, atomically; nil when there is none (no stray key
// without a TTL is ever created).
const TAKE_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return { redis.call('HGET', KEYS[1], 'email'), redis.call('HGET', KEYS[1], 'mac'), attempts }
`;

export async function verifyEmail(actor: Actor, code: string, now = new Date()): Promise<{ email: string }> {
  let pending: [string, string, number] | null;
  try {
    assertRedisReady();
    pending = (await redis.eval(TAKE_ATTEMPT, 1, keys.code(actor.userId))) as [string, string, number] | null;
  } catch (e) {
    throw redisDown(e);
  }
  if (!pending) {
    throw new DomainError("BAD_REQUEST", "No code is waiting (or it expired); ask for a new one", { details: { reason: "no_code" } });
  }
  const [email, mac, attempts] = pending;
  if (attempts > CODE_MAX_ATTEMPTS) {
    await redis.del(keys.code(actor.userId)).catch(() => {});
    throw new DomainError("BAD_REQUEST", "Too many wrong codes; ask for a new one", { details: { reason: "too_many_attempts" } });
  }
  if (!keyedHashMatches("email code", `${actor.userId}\n${email}\n${code}`, mac)) {
    const attemptsLeft = CODE_MAX_ATTEMPTS - attempts;
    if (attemptsLeft === 0) await redis.del(keys.code(actor.userId)).catch(() => {});
    throw new DomainError("BAD_REQUEST", attemptsLeft > 0 ? "That code is not right" : "That code is not right; ask for a new one", {
      details: { reason: "wrong_code", attemptsLeft },
    });
  }
  await redis.del(keys.code(actor.userId)).catch(() => {});

  const before = await db.$primary().user.findUnique({ where: { id: actor.userId }, select: { email: true, username: true } });
  try {
    await db.user.update({ where: { id: actor.userId }, data: { email, emailVerifiedAt: now } });
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002") {
      throw new DomainError("CONFLICT", "This address already belongs to another account", { details: { field: "email" } });
    }
    throw e;
  }
  if (before?.email && before.email !== email) {
    sendMailLater(emailChangedMail(before.email, before.username, email), "email-changed notice");
  }
  return { email };
}

/** Removes the account's address (password-reset links can then no longer be mailed). */
export async function removeEmail(actor: Actor): Promise<{ ok: true }> {
  await db.user.update({ where: { id: actor.userId }, data: { email: null, emailVerifiedAt: null } });
  return { ok: true };
}
