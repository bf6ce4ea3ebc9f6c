import { randomBytes } from "node:crypto";
import { DomainError } from "~/server/errors";
import { affected, hotPool } from "./hot-db";
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
  const pool = hotPool();
  let mine =
    affected(
      await pool.query("INSERT IGNORE INTO UploadChunkClaim (sessionId, `index`, token, owner, heartbeatAt) VALUES (?, ?, ?, ?, NOW(3))", [
        sessionId,
        index,
        token,
        owner,
      ]),
    ) === 1;
  if (!mine) {
    const staleBefore = new Date(Date.now() - CLAIM_STALE_MS);
    mine =
      affected(
        await pool.query(
          `UPDATE UploadChunkClaim SET token = ?, owner = ?, heartbeatAt = NOW(3)
           WHERE sessionId = ? AND \`index\` = ?
             AND (heartbeatAt < ? OR (owner IS NOT NULL AND IS_FREE_LOCK(CONCAT(?, owner)) = 1))`,
          [token, owner, sessionId, index, staleBefore, writerLockName("")],
        ),
      ) === 1;
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
    pool.query("UPDATE UploadChunkClaim SET heartbeatAt = NOW(3) WHERE sessionId = ? AND `index` = ? AND token = ?", [sessionId, index, token]).then(
      (r) => {
        if (affected(r) === 0) lose();
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
      await pool.query("DELETE FROM UploadChunkClaim WHERE sessionId = ? AND `index` = ? AND token = ?", [sessionId, index, token]).catch(() => {});
    },
  };
}
