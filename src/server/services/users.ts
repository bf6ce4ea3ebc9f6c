import { z } from "zod";
import { env } from "~/env";
import type { Actor } from "~/server/auth/actor";
import { hashPassword } from "~/server/auth/passwords";
import { db, Prisma } from "~/server/db/client";
import { DomainError } from "~/server/errors";

// Accounts: creating users and reading their profile. Sign-in, tokens and throttling live in
// src/server/auth; this file knows nothing about sessions.

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
}

/**
 * Creates an account. CONFLICT when the username is taken (usernames compare case-insensitively:
 * the column's collation makes "Alice" and "alice" the same account).
 */
export async function createUser(input: Credentials & { quotaBytes?: number }): Promise<Actor> {
  const { username, password } = credentialsSchema.parse(input);
  const quotaBytes = input.quotaBytes ?? env.DEFAULT_QUOTA_BYTES;
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw new RangeError(`bad quota ${quotaBytes}`);
  const passwordHash = await hashPassword(password);
  try {
    const user = await db.user.create({
      data: { username, passwordHash, quotaBytes: BigInt(quotaBytes) },
      select: { id: true, username: true },
    });
    return { userId: user.id, username: user.username };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002") {
      throw new DomainError("CONFLICT", "That username is taken", { details: { field: "username" } });
    }
    throw e;
  }
}

/** The account's id, canonical username and password hash, for sign-in; null when there is none. */
export async function findUserForSignin(
  username: string,
): Promise<{ id: string; username: string; passwordHash: string } | null> {
  return db.$primary().user.findUnique({
    where: { username },
    select: { id: true, username: true, passwordHash: true },
  });
}

/** `user.me`: sizes as numbers (exact up to 8 PiB). Read from the primary: it follows uploads. */
export async function getProfile(actor: Actor): Promise<UserProfile> {
  const user = await db.$primary().user.findUnique({
    where: { id: actor.userId },
    select: { id: true, username: true, quotaBytes: true, usedBytes: true },
  });
  if (!user) throw new DomainError("UNAUTHORIZED", "This account no longer exists");
  return {
    id: user.id,
    username: user.username,
    quotaBytes: Number(user.quotaBytes),
    usedBytes: Number(user.usedBytes),
  };
}
