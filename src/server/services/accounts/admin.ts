import type { Actor } from "~/server/auth/actor";
import { revokeUserSessions } from "~/server/auth/revocation";
import { runTransaction } from "~/server/db/transaction";
import { db, Prisma } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { issueResetLink } from "./password-reset";
import { assertAdmin, effectiveRole, type Role } from "./roles";
import { turnOffTwoFactor } from "./two-factor";

// The admin's procedures: every account with its usage, a user's quota, disabling and re-enabling,
// and help for a user locked out: a password-reset link to hand over (for an account without a
// verified address) and turning off two-factor (a lost phone and lost recovery codes).
// Each starts with assertAdmin (FORBIDDEN for anyone else). Disabling revokes every sign-in of the
// user and marks the account; actor resolution refuses a disabled account's tokens and cookies at
// once, sign-in refuses it, and its share links and signed download URLs stop serving.

export interface AdminUser {
  id: string;
  username: string;
  email: string | null;
  role: Role;
  disabled: boolean;
  twoFactor: boolean;
  quotaBytes: number;
  usedBytes: number;
  /** bytes promised to open uploads */
  reservedBytes: number;
  files: number;
  createdAt: Date;
  /** the newest sign-in (browser or API), or null */
  lastSigninAt: Date | null;
}

const userSelect = {
  id: true,
  username: true,
  email: true,
  role: true,
  disabledAt: true,
  totpEnabledAt: true,
  quotaBytes: true,
  usedBytes: true,
  reservedBytes: true,
  createdAt: true,
} satisfies Prisma.UserSelect;

type UserRow = Prisma.UserGetPayload<{ select: typeof userSelect }>;

async function describe(rows: UserRow[]): Promise<AdminUser[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [files, signins] = await Promise.all([
    db.$primary().entry.groupBy({ by: ["ownerId"], where: { ownerId: { in: ids }, kind: "file" }, _count: { _all: true } }),
    db.$primary().refreshTokenFamily.groupBy({ by: ["userId"], where: { userId: { in: ids } }, _max: { createdAt: true } }),
  ]);
  const fileCount = new Map(files.map((f) => [f.ownerId, f._count._all]));
  const lastSignin = new Map(signins.map((s) => [s.userId, s._max.createdAt]));
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    email: r.email,
    role: effectiveRole(r),
    disabled: r.disabledAt !== null,
    twoFactor: r.totpEnabledAt !== null,
    quotaBytes: Number(r.quotaBytes),
    usedBytes: Number(r.usedBytes),
    reservedBytes: Number(r.reservedBytes),
    files: fileCount.get(r.id) ?? 0,
    createdAt: r.createdAt,
    lastSigninAt: lastSignin.get(r.id) ?? null,
  }));
}

/** Accounts by username, `limit` at a time; `q` keeps usernames and addresses containing it. */
export async function listUsers(
  actor: Actor,
  input: { q?: string; cursor?: string; limit?: number } = {},
): Promise<{ items: AdminUser[]; nextCursor: string | null }> {
  await assertAdmin(actor);
  const limit = input.limit ?? 50;
  const q = input.q?.trim();
  const rows = await db.$primary().user.findMany({
    where: {
      ...(q ? { OR: [{ username: { contains: q } }, { email: { contains: q.toLowerCase() } }] } : {}),
      ...(input.cursor ? { username: { gt: input.cursor } } : {}),
    },
    orderBy: { username: "asc" },
    take: limit + 1,
    select: userSelect,
  });
  const page = rows.slice(0, limit);
  return { items: await describe(page), nextCursor: rows.length > limit ? (page[page.length - 1]?.username ?? null) : null };
}

async function updateUser(userId: string, data: Prisma.UserUpdateInput): Promise<AdminUser> {
  try {
    const row = await db.user.update({ where: { id: userId }, data, select: userSelect });
    return (await describe([row]))[0]!;
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2025") throw new DomainError("NOT_FOUND", "No such user");
    throw e;
  }
}

/**
 * A user's quota. Lowering it below what they use keeps their files; new uploads are refused
 * (PAYLOAD_TOO_LARGE) until they are under it again.
 */
export async function setQuota(actor: Actor, input: { userId: string; quotaBytes: number }): Promise<AdminUser> {
  await assertAdmin(actor);
  return updateUser(input.userId, { quotaBytes: BigInt(input.quotaBytes) });
}

/** Disables (every sign-in ends at once) or re-enables an account. An admin cannot disable themself. */
export async function setDisabled(actor: Actor, input: { userId: string; disabled: boolean }, now = new Date()): Promise<AdminUser> {
  await assertAdmin(actor);
  if (input.disabled && input.userId === actor.userId) {
    throw new DomainError("BAD_REQUEST", "You cannot disable your own account", { details: { reason: "self" } });
  }
  if (!input.disabled) return updateUser(input.userId, { disabledAt: null });
  const row = await runTransaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: input.userId }, select: { disabledAt: true } });
    if (!user) throw new DomainError("NOT_FOUND", "No such user");
    const updated = await tx.user.update({
      where: { id: input.userId },
      data: { disabledAt: user.disabledAt ?? now },
      select: userSelect,
    });
    await revokeUserSessions(input.userId, { now }, tx);
    return updated;
  });
  return (await describe([row]))[0]!;
}

async function requireUser(userId: string): Promise<void> {
  const user = await db.$primary().user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new DomainError("NOT_FOUND", "No such user");
}

/** A reset link for the admin to hand to the user (older links stop working). Nothing is mailed. */
export async function createResetLink(actor: Actor, input: { userId: string }): Promise<{ url: string; expiresAt: Date }> {
  await assertAdmin(actor);
  await requireUser(input.userId);
  return issueResetLink(input.userId);
}

/** Turns off the user's two-factor sign-in and deletes their recovery codes. */
export async function resetTwoFactor(actor: Actor, input: { userId: string }): Promise<AdminUser> {
  await assertAdmin(actor);
  await requireUser(input.userId);
  await turnOffTwoFactor(input.userId);
  const row = await db.$primary().user.findUniqueOrThrow({ where: { id: input.userId }, select: userSelect });
  return (await describe([row]))[0]!;
}
