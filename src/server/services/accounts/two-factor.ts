import { randomInt } from "node:crypto";
import type { Actor } from "~/server/auth/actor";
import { keyedHash } from "~/server/auth/keys";
import { hitLimit } from "~/server/auth/throttle";
import { checkTotp, newTotpSecret, openTotpSecret, totpEnrolment, TOTP_CODE } from "~/server/auth/totp";
import { runTransaction } from "~/server/db/transaction";
import { db, type Tx } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { confirmPassword } from "./passwords";

// Two-factor sign-in with TOTP. Enrolment is two steps: `setup` (with the password) creates a
// secret and shows it as a QR code; `enable` with a code from the app proves the app has it, turns
// two-factor on and returns 10 recovery codes, shown this once (only their HMACs are stored; each
// signs in once instead of a TOTP code). Turning it off, and new recovery codes, need the password.
// The TOTP columns of User and the RecoveryCode rows have one owner: this module.

const RECOVERY_CODES = 10;
/** Recovery codes: 10 characters of an alphabet without look-alikes, shown as xxxxx-xxxxx (about 49 bits). */
const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_CODE = /^[a-z0-9]{10}$/;
/** Wrong confirmation codes per account per 10 minutes during enrolment. */
const ENROL_ATTEMPTS = 10;

function newRecoveryCode(): string {
  let code = "";
  for (let i = 0; i < 10; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** Lower case, no spaces or dashes: how a recovery code is hashed whatever way it was typed. */
const normalizeRecoveryCode = (code: string) => code.toLowerCase().replace(/[\s-]/g, "");

const recoveryHash = (userId: string, code: string) => keyedHash("recovery code", `${userId}\n${normalizeRecoveryCode(code)}`);

async function replaceRecoveryCodes(tx: Tx, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await tx.recoveryCode.deleteMany({ where: { userId } });
  await tx.recoveryCode.createMany({ data: codes.map((code) => ({ userId, codeHash: recoveryHash(userId, code) })) });
  return codes;
}

async function twoFactorRow(userId: string) {
  const user = await db.$primary().user.findUnique({
    where: { id: userId },
    select: { username: true, totpSecret: true, totpEnabledAt: true, totpLastStep: true },
  });
  if (!user) throw new DomainError("UNAUTHORIZED", "This account no longer exists");
  return user;
}

const alreadyOn = () => new DomainError("CONFLICT", "Two-factor sign-in is already on", { details: { reason: "two_factor_on" } });
const notOn = () => new DomainError("PRECONDITION_FAILED", "Two-factor sign-in is not on", { details: { reason: "two_factor_off" } });

export interface TwoFactorSetup {
  /** base32, for typing into an app that cannot scan */
  secret: string;
  otpauthUri: string;
  /** the URI as a QR code, a PNG data URL */
  qrDataUrl: string;
}

/** Step 1 of enrolment: a new secret (replacing an unconfirmed one). */
export async function startTwoFactorSetup(actor: Actor, password: string, clientIp: string): Promise<TwoFactorSetup> {
  await confirmPassword(actor, password, clientIp);
  const user = await twoFactorRow(actor.userId);
  if (user.totpEnabledAt) throw alreadyOn();
  const { secret, sealed } = newTotpSecret();
  const updated = await db.user.updateMany({
    where: { id: actor.userId, totpEnabledAt: null },
    data: { totpSecret: sealed, totpLastStep: null },
  });
  if (updated.count !== 1) throw alreadyOn();
  return { secret, ...(await totpEnrolment(user.username, secret)) };
}

/** Step 2: a code from the app turns two-factor on; the recovery codes are returned this once. */
export async function enableTwoFactor(actor: Actor, code: string): Promise<{ recoveryCodes: string[] }> {
  const user = await twoFactorRow(actor.userId);
  if (user.totpEnabledAt) throw alreadyOn();
  const secret = user.totpSecret ? openTotpSecret(user.totpSecret) : null;
  if (!secret) throw new DomainError("PRECONDITION_FAILED", "Start the setup first", { details: { reason: "no_setup" } });
  await hitLimit(`acct:totp-enrol:${actor.userId}`, ENROL_ATTEMPTS, 600, "Too many codes tried; wait a few minutes");
  const step = await checkTotp(secret, code.trim(), null);
  if (step === null) {
    throw new DomainError("BAD_REQUEST", "That code is not right; check the time on your phone", { details: { reason: "otp_invalid" } });
  }
  return runTransaction(async (tx) => {
    const on = await tx.user.updateMany({
      where: { id: actor.userId, totpEnabledAt: null, totpSecret: user.totpSecret },
      data: { totpEnabledAt: new Date(), totpLastStep: step },
    });
    if (on.count !== 1) throw alreadyOn();
    return { recoveryCodes: await replaceRecoveryCodes(tx, actor.userId) };
  });
}

export async function disableTwoFactor(actor: Actor, password: string, clientIp: string): Promise<{ ok: true }> {
  await confirmPassword(actor, password, clientIp);
  await turnOffTwoFactor(actor.userId);
  return { ok: true };
}

/** Two-factor off, recovery codes gone (the user's own choice, or an admin's for a lost phone). */
export async function turnOffTwoFactor(userId: string): Promise<void> {
  await runTransaction(async (tx) => {
    await tx.user.update({ where: { id: userId }, data: { totpSecret: null, totpEnabledAt: null, totpLastStep: null } });
    await tx.recoveryCode.deleteMany({ where: { userId } });
  });
}

export async function regenerateRecoveryCodes(actor: Actor, password: string, clientIp: string): Promise<{ recoveryCodes: string[] }> {
  await confirmPassword(actor, password, clientIp);
  const user = await twoFactorRow(actor.userId);
  if (!user.totpEnabledAt) throw notOn();
  return { recoveryCodes: await runTransaction((tx) => replaceRecoveryCodes(tx, actor.userId)) };
}

/** How many unused recovery codes the account has left. */
export async function recoveryCodesLeft(actor: Actor): Promise<number> {
  return db.$primary().recoveryCode.count({ where: { userId: actor.userId, usedAt: null } });
}

/**
 * The second factor at sign-in: a TOTP code newer than the last one accepted, or an unused
 * recovery code. Either is used up by a conditional UPDATE, so two sign-ins racing with one code
 * cannot both pass.
 */
export async function verifySecondFactor(userId: string, otp: string, now = new Date()): Promise<boolean> {
  const given = otp.trim();
  if (TOTP_CODE.test(given)) {
    const user = await twoFactorRow(userId);
    const secret = user.totpEnabledAt && user.totpSecret ? openTotpSecret(user.totpSecret) : null;
    if (!secret) return false;
    const step = await checkTotp(secret, given, user.totpLastStep, now);
    if (step === null) return false;
    const taken = await db.user.updateMany({
      where: { id: userId, OR: [{ totpLastStep: null }, { totpLastStep: { lt: step } }] },
      data: { totpLastStep: step },
    });
    return taken.count === 1;
  }
  const normalized = normalizeRecoveryCode(given);
  if (!RECOVERY_CODE.test(normalized)) return false;
  const used = await db.recoveryCode.updateMany({
    where: { userId, codeHash: recoveryHash(userId, normalized), usedAt: null },
    data: { usedAt: now },
  });
  return used.count === 1;
}
