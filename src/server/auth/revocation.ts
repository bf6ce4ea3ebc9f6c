import { db, type Tx } from "~/server/db/client";
import type { Actor } from "./actor";

// Whether a sign-in (a refresh-token family) may still act. MariaDB is the only truth, and it is
// asked on every request: an access token or session cookie works while its family is not revoked
// and its user exists and is not disabled. Revocation used to be a Redis marker, so a Redis flush
// (or a restart without persistence) brought signed-out access tokens back until they expired; a
// primary-key lookup per request costs well under a millisecond and cannot forget.

/** Marks families revoked (sign-out, reuse detection, password change...). Idempotent. */
export async function revokeFamilies(familyIds: string[], now = new Date()): Promise<void> {
  if (familyIds.length === 0) return;
  await db.refreshTokenFamily.updateMany({
    where: { id: { in: familyIds }, revokedAt: null },
    data: { revokedAt: now },
  });
}

/** Revokes every sign-in of a user, except `keepFamilyId` (the caller's own) when given. */
export async function revokeUserSessions(
  userId: string,
  opts: { keepFamilyId?: string | null; now?: Date } = {},
  client: Tx | typeof db = db,
): Promise<void> {
  await client.refreshTokenFamily.updateMany({
    where: {
      userId,
      revokedAt: null,
      ...(opts.keepFamilyId ? { id: { not: opts.keepFamilyId } } : {}),
    },
    data: { revokedAt: opts.now ?? new Date() },
  });
}

interface SessionRow {
  userId: string;
  username: string;
  revokedAt: Date | null;
  disabledAt: Date | null;
}

/**
 * The actor of a live sign-in: the family exists and is not revoked, and its user exists and is
 * not disabled; null otherwise. One query on the primary (a replica could lag behind a sign-out).
 * `userId`, when given, must be the family's owner (the token's subject).
 */
export async function activeSession(familyId: string, userId?: string): Promise<Actor | null> {
  const rows = await db.$queryRaw<SessionRow[]>`
    SELECT u.id AS userId, u.username, f.revokedAt, u.disabledAt
    FROM RefreshTokenFamily f JOIN User u ON u.id = f.userId
    WHERE f.id = ${familyId}`;
  const row = rows[0];
  if (!row || row.revokedAt !== null || row.disabledAt !== null) return null;
  if (userId !== undefined && row.userId !== userId) return null;
  return { userId: row.userId, username: row.username };
}
