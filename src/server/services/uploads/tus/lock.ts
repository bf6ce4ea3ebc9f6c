import { randomBytes } from "node:crypto";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { CLAIM_HEARTBEAT_MS, CLAIM_STALE_MS } from "../limits";

// One writer per tus upload: a PATCH holds the upload's claim (a row of the MEMORY table
// UploadChunkClaim that chunked uploads use per chunk, here with index -1 for the whole upload)
// while its body streams. A second PATCH meanwhile is CONFLICT (409, tus clients retry after a
// HEAD); a claim whose heartbeat stopped (its writer died) is taken over. Every recording of
// progress checks the claim is still ours (progress.ts), so a writer that lost it records nothing.

export const TUS_LOCK_INDEX = -1;

export interface TusLock {
  token: string;
  release(): Promise<void>;
}

export async function lockUpload(sessionId: string): Promise<TusLock> {
  const token = randomBytes(12).toString("base64url");
  let mine =
    (await db.$executeRaw`
      INSERT IGNORE INTO UploadChunkClaim (sessionId, \`index\`, token, heartbeatAt)
      VALUES (${sessionId}, ${TUS_LOCK_INDEX}, ${token}, NOW(3))`) === 1;
  if (!mine) {
    const staleBefore = new Date(Date.now() - CLAIM_STALE_MS);
    mine =
      (await db.$executeRaw`
        UPDATE UploadChunkClaim SET token = ${token}, heartbeatAt = NOW(3)
        WHERE sessionId = ${sessionId} AND \`index\` = ${TUS_LOCK_INDEX} AND heartbeatAt < ${staleBefore}`) === 1;
  }
  if (!mine) {
    throw new DomainError("CONFLICT", "Another request is writing to this upload", {
      details: { retryAfter: Math.ceil(CLAIM_HEARTBEAT_MS / 1000) },
    });
  }
  const heartbeat = setInterval(() => {
    void db.$executeRaw`
      UPDATE UploadChunkClaim SET heartbeatAt = NOW(3)
      WHERE sessionId = ${sessionId} AND \`index\` = ${TUS_LOCK_INDEX} AND token = ${token}`.catch(() => {});
  }, CLAIM_HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return {
    token,
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      await db.$executeRaw`
        DELETE FROM UploadChunkClaim WHERE sessionId = ${sessionId} AND \`index\` = ${TUS_LOCK_INDEX} AND token = ${token}`.catch(() => {});
    },
  };
}
