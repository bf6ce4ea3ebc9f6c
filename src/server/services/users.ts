import { z } from "zod";
import { env } from "~/env";
import type { Actor } from "~/server/auth/actor";
import { hashPassword } from "~/server/auth/passwords";
import { db, Prisma } from "~/server/db/client";
import { reads } from "~/server/db/reads";
import { runTransaction } from "~/server/db/transaction";
import { DomainError } from "~/server/errors";
import { claimInvite } from "./accounts/invites";
import { effectiveRole, type Role } from "./accounts/roles";

// Accounts: creating users and reading their profile. Sign-in, tokens and throttling live in
// src/server/auth; this file knows nothing about sessions. Email, passwords, two-factor and the
// admin's procedures are in ./accounts.

export const usernameSchema = z
  .string()
  .min(3, "Usernames are 3 to 32 characters")
  .max(32, "Usernames are 3 to 32 characters")
  .regex(/^[a-zA-Z0-9_.-]+$/, "Usernames may contain only letters, digits, '_', '.' and '-'");

export const passwordSchema = z
  .string()
  .min(8, "Passwords are 8 to 128 characters")
  .max(128, "Passwords are 8 to 128 characters");

export const credentialsSchema = z.object({ username: usernameSchema, password: passwordSchema });
export type Credentials = z.infer<typeof credentialsSchema>;

export interface UserProfile {
  id: string;
  username: string;
  quotaBytes: number;
  usedBytes: number;
  /** the verified address, or null */
  email: string | null;
  emailVerified: boolean;
  /** two-factor sign-in (TOTP) is on */
  twoFactor: boolean;
  role: Role;
}

/** Whether the database holds no account yet (the first one becomes the admin). */
export async function hasNoAccounts(): Promise<boolean> {
  return (await db.$primary().user.findFirst({ select: { id: true } })) === null;
}

/**
 * Creates an account. CONFLICT when the username is taken (usernames compare case-insensitively:
 * the column's collation makes "Alice" and "alice" the same account). The first account of the
 * drive is its admin. With `invite`, the invitation is used up in the same transaction (FORBIDDEN
 * when it is not valid; a failed sign-up leaves it unused). `onlyIfFirst`: the sign-up is allowed
 * only because the drive is empty (SIGNUP_MODE invite or closed); when another account got there
 * first, the error it returns is thrown and nothing is created.
 */
export async function createUser(
  input: Credentials & { quotaBytes?: number },
  opts: { invite?: string; onlyIfFirst?: () => DomainError } = {},
): Promise<Actor> {
  const { username, password } = credentialsSchema.parse(input);
  const quotaBytes = input.quotaBytes ?? env.DEFAULT_QUOTA_BYTES;
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw new RangeError(`bad quota ${quotaBytes}`);
  const passwordHash = await hashPassword(password);
  // Accounts are never deleted, so once the drive has one no sign-up can be the first.
  const mayBeFirst = opts.onlyIfFirst !== undefined || (await hasNoAccounts());
  try {
    const select = { id: true, username: true } as const;
    const invite = opts.invite;
    const user = await runTransaction(async (tx) => {
      let role: "admin" | "user" = "user";
      if (mayBeFirst) {
        // While the drive may be empty, sign-ups are serialised: this locking read takes InnoDB's
        // next-key lock on User's (empty) index, so a racing sign-up's insert waits, or deadlocks
        // and is re-run by runTransaction, and then finds this account. One first account, one admin.
        const first = (await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM User LIMIT 1 FOR UPDATE`).length === 0;
        if (first) role = "admin";
        else if (opts.onlyIfFirst) throw opts.onlyIfFirst();
      }
      const data = { username, passwordHash, quotaBytes: BigInt(quotaBytes), role } as const;
      if (invite === undefined) return tx.user.create({ data, select });
      const inviteId = await claimInvite(tx, invite);
      const created = await tx.user.create({ data, select });
      await tx.invite.update({ where: { id: inviteId }, data: { usedById: created.id } });
      return created;
    });
    return { userId: user.id, username: user.username };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002") {
      throw new DomainError("CONFLICT", "That username is taken", { details: { field: "username" } });
    }
    throw e;
  }
}

export interface SigninUser {
  id: string;
  username: string;
  passwordHash: string;
  disabledAt: Date | null;
  totpEnabledAt: Date | null;
}

/** What sign-in needs of an account; null when there is none. */
export async function findUserForSignin(username: string): Promise<SigninUser | null> {
  return db.$primary().user.findUnique({
    where: { username },
    select: { id: true, username: true, passwordHash: true, disabledAt: true, totpEnabledAt: true },
  });
}

/**
 * `user.me`: sizes as numbers (exact up to 8 PiB). A causal replica read: it follows the user's own
 * uploads (usedBytes) and settings changes.
 */
export async function getProfile(actor: Actor): Promise<UserProfile> {
  const user = await reads.forUser(actor.userId, (client) => client.user.findUnique({
    where: { id: actor.userId },
    select: {
      id: true,
      username: true,
      quotaBytes: true,
      usedBytes: true,
      role: true,
      email: true,
      emailVerifiedAt: true,
      totpEnabledAt: true,
    },
  }));
  if (!user) throw new DomainError("UNAUTHORIZED", "This account no longer exists");
  return {
    id: user.id,
    username: user.username,
    quotaBytes: Number(user.quotaBytes),
    usedBytes: Number(user.usedBytes),
    email: user.email,
    emailVerified: user.email !== null && user.emailVerifiedAt !== null,
    twoFactor: user.totpEnabledAt !== null,
    role: effectiveRole(user),
  };
}
