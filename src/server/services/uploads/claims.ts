import { randomBytes } from "node:crypto";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { CLAIM_HEARTBEAT_MS, CLAIM_STALE_MS } from "./limits";

// Short write locks on one upload: a chunk being streamed (index = chunk index), or a tus upload
// being patched (index -1, tus/lock.ts). A claim is a row of the MEMORY table UploadChunkClaim (no
// commit to wait for) with a heartbeat; a claim whose heartbeat stopped (its writer died) is taken
// over. Whoever records the claimed work checks the token in the same statement or transaction,
// so a writer that lost its claim records nothing.

export interface Claim {
  readonly token: string;
  /** Stops the heartbeat and deletes the claim if it is still ours. Idempotent. */
  release(): Promise<void>;
  /** Stops the heartbeat only: the recording of the work already deleted the claim. */
  consumed(): void;
}

/** Claims (sessionId, index); CONFLICT with `busy` (and retryAfter) while another live writer holds it. */
export async function takeClaim(sessionId: string, index: number, busy: string): Promise<Claim> {
  const token = randomBytes(12).toString("base64url");
  let mine =
    (await db.$executeRaw`
      INSERT IGNORE INTO UploadChunkClaim (sessionId, \`index\`, token, heartbeatAt) VALUES (${sessionId}, ${index}, ${token}, NOW(3))`) === 1;
  if (!mine) {
    const staleBefore = new Date(Date.now() - CLAIM_STALE_MS);
    mine =
      (await db.$executeRaw`
        UPDATE UploadChunkClaim SET token = ${token}, heartbeatAt = NOW(3)
        WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND heartbeatAt < ${staleBefore}`) === 1;
  }
  if (!mine) throw new DomainError("CONFLICT", busy, { details: { retryAfter: Math.ceil(CLAIM_HEARTBEAT_MS / 1000) } });

  const heartbeat = setInterval(() => {
    void db.$executeRaw`
      UPDATE UploadChunkClaim SET heartbeatAt = NOW(3) WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND token = ${token}`.catch(
      () => {},
    );
  }, CLAIM_HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return {
    token,
    consumed: () => clearInterval(heartbeat),
    release: async () => {
      clearInterval(heartbeat);
      if (released) return;
      released = true;
      await db.$executeRaw`
        DELETE FROM UploadChunkClaim WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND token = ${token}`.catch(() => {});
    },
  };
}
