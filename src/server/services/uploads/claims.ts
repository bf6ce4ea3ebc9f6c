import { randomBytes } from "node:crypto";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { CLAIM_HEARTBEAT_MS, CLAIM_STALE_MS } from "./limits";
import { onWriterLost, writerInstance, writerLockName } from "./writer-instance";

// Short write locks on one upload: a chunk being streamed (index = chunk index), or a tus upload
// being patched (index -1, tus/lock.ts). A claim is a row of the MEMORY table UploadChunkClaim (no
// commit to wait for) naming its token, its owner (this process's writer id, writer-instance.ts)
// and a heartbeat. It is taken over when its writer is known dead (the owner's MariaDB lock is
// free: the process is gone, e.g. kill -9, so a resend after a restart goes through at once) or
// when its heartbeat stopped (a hung writer, or one without a lock). Whoever records the claimed
// work checks the token in the same statement or transaction, so a writer that lost its claim
// records nothing; a heartbeat that finds the claim gone also stops the writer (`lost`).

export interface Claim {
  readonly token: string;
  /** Aborted when the claim turns out to be someone else's: stop writing. */
  readonly lost: AbortSignal;
  /** Stops the heartbeat and deletes the claim if it is still ours. Idempotent. */
  release(): Promise<void>;
  /** Stops the heartbeat only: the recording of the work already deleted the claim. */
  consumed(): void;
}

function takenOver(): DomainError {
  return new DomainError("CONFLICT", "The upload was taken over by another request");
}

/** Claims (sessionId, index); CONFLICT with `busy` (and retryAfter) while another live writer holds it. */
export async function takeClaim(sessionId: string, index: number, busy: string): Promise<Claim> {
  const token = randomBytes(12).toString("base64url");
  const owner = await writerInstance();
  let mine =
    (await db.$executeRaw`
      INSERT IGNORE INTO UploadChunkClaim (sessionId, \`index\`, token, owner, heartbeatAt)
      VALUES (${sessionId}, ${index}, ${token}, ${owner}, NOW(3))`) === 1;
  if (!mine) {
    const staleBefore = new Date(Date.now() - CLAIM_STALE_MS);
    mine =
      (await db.$executeRaw`
        UPDATE UploadChunkClaim SET token = ${token}, owner = ${owner}, heartbeatAt = NOW(3)
        WHERE sessionId = ${sessionId} AND \`index\` = ${index}
          AND (heartbeatAt < ${staleBefore} OR (owner IS NOT NULL AND IS_FREE_LOCK(CONCAT(${writerLockName("")}, owner)) = 1))`) === 1;
  }
  if (!mine) throw new DomainError("CONFLICT", busy, { details: { retryAfter: Math.ceil(CLAIM_HEARTBEAT_MS / 1000) } });

  const lost = new AbortController();
  let stopped = false;
  const lose = () => {
    if (!stopped && !lost.signal.aborted) lost.abort(takenOver());
  };
  // Our writer lock went away with its connection: others may take this claim now, so stop.
  const unsubscribe = owner === null ? () => {} : onWriterLost((id) => id === owner && lose());
  const heartbeat = setInterval(() => {
    void db.$executeRaw`
      UPDATE UploadChunkClaim SET heartbeatAt = NOW(3) WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND token = ${token}`.then(
      (n) => {
        if (n === 0) lose();
      },
      () => {},
    );
  }, CLAIM_HEARTBEAT_MS);
  heartbeat.unref();
  const stop = () => {
    stopped = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  let released = false;
  return {
    token,
    lost: lost.signal,
    consumed: stop,
    release: async () => {
      stop();
      if (released) return;
      released = true;
      await db.$executeRaw`
        DELETE FROM UploadChunkClaim WHERE sessionId = ${sessionId} AND \`index\` = ${index} AND token = ${token}`.catch(() => {});
    },
  };
}
