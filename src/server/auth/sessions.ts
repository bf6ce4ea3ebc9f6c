import { createHash, randomBytes } from "node:crypto";
import { env } from "~/env";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import type { Actor } from "./actor";
import { signAccessToken } from "./access-token";
import { revokeFamilies } from "./revocation";

// Sign-in sessions for scripts: a refresh-token family per sign-in, rotated on every refresh.
// Refresh tokens are opaque (256 random bits, base64url); only their sha256 is stored.

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: Date;
}

const REFRESH_TOKEN_BYTES = 32;

export const hashRefreshToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

function newRefreshToken(now: Date) {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString("base64url");
  const expiresAt = new Date(now.getTime() + env.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
  return { token, tokenHash: hashRefreshToken(token), expiresAt };
}

const invalidRefreshToken = () => new DomainError("UNAUTHORIZED", "Invalid or expired refresh token");

/** Starts a sign-in: a new family with its first refresh token, and an access token. */
export async function startSession(actor: Actor, now = new Date()): Promise<TokenPair & { familyId: string }> {
  const refresh = newRefreshToken(now);
  const family = await db.refreshTokenFamily.create({
    data: {
      userId: actor.userId,
      createdAt: now,
      tokens: { create: { tokenHash: refresh.tokenHash, expiresAt: refresh.expiresAt, createdAt: now } },
    },
    select: { id: true },
  });
  const access = signAccessToken({ ...actor, familyId: family.id }, { now });
  return { familyId: family.id, accessToken: access.token, refreshToken: refresh.token, accessExpiresAt: access.expiresAt };
}

/**
 * Starts a browser sign-in: a family without refresh tokens (the next-auth cookie carries the
 * family id, so signing out, or a revocation, ends the cookie session too).
 */
export async function startBrowserSession(actor: Actor, now = new Date()): Promise<{ familyId: string }> {
  const family = await db.refreshTokenFamily.create({
    data: { userId: actor.userId, createdAt: now },
    select: { id: true },
  });
  return { familyId: family.id };
}

/**
 * Rotation: retires the presented token and issues the next one of the same family. Presenting a
 * token that was already retired is reuse: somebody holds a copy, so the whole family (every
 * refresh and access token of that sign-in) is revoked. Two concurrent refreshes of one token race
 * on a conditional UPDATE and exactly one wins. A loser that overlapped the winner (it read the
 * token before the rotation committed) gets UNAUTHORIZED without revoking; a loser that read it
 * after is, by the rule above, reuse. Clients must therefore not refresh one token in parallel.
 */
export async function refreshSession(refreshToken: string, now = new Date()): Promise<TokenPair> {
  const presented = await db.$primary().refreshToken.findUnique({
    where: { tokenHash: hashRefreshToken(refreshToken) },
    select: {
      id: true,
      retiredAt: true,
      expiresAt: true,
      family: {
        select: { id: true, revokedAt: true, user: { select: { id: true, username: true, disabledAt: true } } },
      },
    },
  });
  if (!presented || presented.family.revokedAt || presented.family.user.disabledAt) throw invalidRefreshToken();
  const { family } = presented;
  if (presented.retiredAt) {
    await revokeFamilies([family.id], now);
    throw new DomainError("UNAUTHORIZED", "Refresh token reused; this sign-in has been revoked");
  }
  if (presented.expiresAt <= now) throw invalidRefreshToken();

  const next = newRefreshToken(now);
  await db.$transaction(async (tx) => {
    const retired = await tx.refreshToken.updateMany({
      where: { id: presented.id, retiredAt: null },
      data: { retiredAt: now },
    });
    if (retired.count !== 1) throw invalidRefreshToken();
    // The family may have been revoked since we read it (a signout or reuse elsewhere).
    const live = await tx.refreshTokenFamily.count({ where: { id: family.id, revokedAt: null } });
    if (live !== 1) throw invalidRefreshToken();
    await tx.refreshToken.create({
      data: { familyId: family.id, tokenHash: next.tokenHash, expiresAt: next.expiresAt, createdAt: now },
    });
  });
  const access = signAccessToken(
    { userId: family.user.id, username: family.user.username, familyId: family.id },
    { now },
  );
  return { accessToken: access.token, refreshToken: next.token, accessExpiresAt: access.expiresAt };
}

/**
 * Ends the sign-in the refresh token belongs to (retired tokens of the family count too). Unknown
 * tokens are ignored: signing out is idempotent and says nothing about which tokens exist.
 */
export async function endSessionByRefreshToken(refreshToken: string, now = new Date()): Promise<void> {
  const token = await db.$primary().refreshToken.findUnique({
    where: { tokenHash: hashRefreshToken(refreshToken) },
    select: { familyId: true },
  });
  if (token) await revokeFamilies([token.familyId], now);
}

/** Ends one sign-in by its family id (browser sign-out: the session cookie carries the family). */
export async function endSession(familyId: string, now = new Date()): Promise<void> {
  await revokeFamilies([familyId], now);
}
