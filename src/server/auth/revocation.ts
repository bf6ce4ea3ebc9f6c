import { env } from "~/env";
import { db } from "~/server/db/client";
import { redis } from "~/server/redis/client";

// A revoked sign-in (refresh-token family) must stop its access tokens at once, not when they
// expire. The database is the truth (RefreshTokenFamily.revokedAt); Redis holds a marker per
// revoked family for as long as an access token of it can live, so checking a bearer token costs
// one EXISTS and no query. When Redis cannot answer, the database does: never "allow" blindly.

const revokedKey = (familyId: string) => `auth:revoked-family:${familyId}`;

/** Marks families revoked in the database, then in Redis. Returns the ids newly revoked. */
export async function revokeFamilies(familyIds: string[], now = new Date()): Promise<void> {
  if (familyIds.length === 0) return;
  await db.refreshTokenFamily.updateMany({
    where: { id: { in: familyIds }, revokedAt: null },
    data: { revokedAt: now },
  });
  await markRevokedInRedis(familyIds);
}

async function markRevokedInRedis(familyIds: string[]): Promise<void> {
  try {
    const pipeline = redis.pipeline();
    for (const id of familyIds) pipeline.set(revokedKey(id), "1", "EX", env.ACCESS_TOKEN_TTL_SECONDS + 60);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  } catch (e) {
    // The revocation is durable in the database; while the marker is missing, access tokens are
    // only checked against Redis, so say so loudly.
    console.error("[auth] could not mark revoked families in Redis", familyIds, e);
  }
}

/** For bearer access tokens (which live at most ACCESS_TOKEN_TTL_SECONDS). */
export async function isFamilyRevokedForAccessToken(familyId: string): Promise<boolean> {
  try {
    return (await redis.exists(revokedKey(familyId))) === 1;
  } catch {
    return isFamilyRevokedInDb(familyId);
  }
}

/** The database's answer: revoked, or gone (user deleted, family never existed). */
export async function isFamilyRevokedInDb(familyId: string): Promise<boolean> {
  const family = await db.$primary().refreshTokenFamily.findUnique({
    where: { id: familyId },
    select: { revokedAt: true },
  });
  return !family || family.revokedAt !== null;
}
