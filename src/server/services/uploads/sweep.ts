import { db } from "~/server/db/client";
import { CLAIM_STALE_MS, FINISHED_SESSION_RETENTION_MS } from "./limits";
import { endSession } from "./session-lifecycle";
import { logger } from "~/server/log";

const log = logger("uploads");

/** A session stuck in `completing` this long had its completer die after the storage step. */
const STUCK_COMPLETING_MS = 60 * 60_000;

/**
 * Expires upload sessions (chunked, tus and form) idle past their expiresAt, and those stuck completing:
 * their reservation is released and their bytes (multipart upload and object) deleted. Finished
 * session rows older than a week are removed, and chunk claims whose writer died (a claim has no
 * foreign key to cascade from: UploadChunkClaim is a MEMORY table). Safe to run on several workers at once (every end is
 * a conditional state change). Returns how many sessions were expired.
 */
export async function sweepExpiredUploads(now: Date = new Date(), limit = 500): Promise<number> {
  const stuckBefore = new Date(now.getTime() - STUCK_COMPLETING_MS);
  const due = await db.$primary().uploadSession.findMany({
    where: {
      OR: [
        { state: "open", expiresAt: { lte: now } },
        { state: "completing", updatedAt: { lt: stuckBefore } },
      ],
    },
    take: limit,
    orderBy: { expiresAt: "asc" },
  });
  let expired = 0;
  for (const session of due) {
    const from = session.state === "completing" ? "completing" : "open";
    try {
      if (await endSession(session, "expired", from)) expired++;
    } catch (e) {
      log.error(`expiring upload ${session.id} failed: ${e instanceof Error ? e.message : e}`);
    }
  }
  const keepAfter = new Date(now.getTime() - FINISHED_SESSION_RETENTION_MS);
  await db.uploadSession.deleteMany({ where: { state: { in: ["completed", "aborted", "expired"] }, updatedAt: { lt: keepAfter } } });
  await db.uploadChunkClaim.deleteMany({ where: { heartbeatAt: { lt: new Date(Date.now() - 10 * CLAIM_STALE_MS) } } });
  return expired;
}
