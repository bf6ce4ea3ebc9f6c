import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { processSpoolDir } from "./spool-dir";
import { logger } from "~/server/log";

const log = logger("uploads");

// The whole-content SHA-256 of a chunked upload, computed while the chunks stream in, so complete
// never has to read the file back (complete is then O(1) in the file size).
//
// SHA-256 is sequential and OpenSSL's hash state cannot be saved, so the digest is built in the
// process that receives the chunks: the chunk at the hash's position is hashed as it streams
// (into a copy of the hash, adopted only once the chunk is recorded), and chunks that arrive ahead
// of it (parallel uploads) are hashed in order as soon as the gap closes: read back from storage
// where the driver can read a part before complete (local disk: the bytes are already on disk, most
// likely still in the page cache), else spooled to a local temp file while they stream in. A resumable pure-TypeScript SHA-256 whose state could live in MariaDB was
// measured at 213-250 MB/s against 1.5 GB/s for OpenSSL on this hardware, and spread over several
// web instances it would still need the out-of-order chunks' bytes, which S3 does not let anyone
// read before the multipart upload completes; so the fast path is per process and the slow path is
// honest: when this process did not see every chunk (another instance took some, a restart, the
// spool budget ran out), complete hashes the assembled object once.
//
// Memory: one Hash object per open session; spool files are bounded per session (window) and per
// process (bytes), and deleted as soon as they are hashed or the session ends.

/** Chunks further ahead of the hash position than this are not spooled. */
const SPOOL_WINDOW = 64;
/** Spool bytes this process may hold at once, across sessions. */
const SPOOL_MAX_BYTES = 4 * 1024 ** 3;
/** A live hash untouched this long is dropped (its session is idle or handled elsewhere). */
const IDLE_MS = 30 * 60_000;

interface LiveHash {
  sessionId: string;
  chunkCount: number;
  hash: Hash;
  /** Index of the next chunk to hash. */
  next: number;
  /** Index whose bytes are being hashed as they stream in (at most one: `next`). */
  inflight: number | null;
  /** Recorded chunks waiting to be hashed: index → spool file, or the stored part to read back. */
  spooled: Map<number, Waiting>;
  digest: string | null;
  /** Where the finished digest goes, so complete on any instance sees it. */
  persist: DigestWriter | null;
  chain: Promise<void>;
  lastUsed: number;
  dead: boolean;
}

type Waiting = { file: string; bytes: number } | { read: () => Promise<Readable | null>; bytes: 0 };

// On globalThis: the custom server (chunk PUTs, raw routes) and Next's compiled bundle (tRPC:
// upload.complete) are separate copies of this module in one process. With a registry per copy,
// complete never saw the hash the chunks built and, unless the digest had already been written to
// the session row, read the whole object back to hash it again.
const shared = globalThis as unknown as { filestoreLiveHash?: { live: Map<string, LiveHash>; spool: { bytes: number } } };
const { live, spool } = (shared.filestoreLiveHash ??= { live: new Map(), spool: { bytes: 0 } });

/** Persists a finished digest (the caller's: session-lifecycle.ts recordContentDigest). */
export type DigestWriter = (sessionId: string, digest: string) => Promise<void>;

function touch(h: LiveHash): void {
  h.lastUsed = Date.now();
}

function kill(h: LiveHash): void {
  h.dead = true;
  for (const waiting of h.spooled.values()) {
    if (!("file" in waiting)) continue;
    spool.bytes -= waiting.bytes;
    void unlink(waiting.file).catch(() => {});
  }
  h.spooled.clear();
  live.delete(h.sessionId);
}

setInterval(() => {
  const now = Date.now();
  for (const h of live.values()) if (now - h.lastUsed > IDLE_MS && h.inflight === null) kill(h);
}, 60_000).unref();

export type HashPlan =
  | { mode: "inline"; hash: Hash }
  | { mode: "spool"; file: string; stream: WriteStream; bytes: number }
  /** Hashed later from storage (`read`, once the chunk is recorded with its etag). */
  | { mode: "stored" }
  | { mode: "none" };

/**
 * How a chunk about to stream in takes part in the session's digest. `chunkZeroStored`: chunk 0
 * was recorded before this process held a live hash, so this process can never see every byte.
 */
export async function planChunk(
  session: { id: string; chunkCount: number; chunkSize: number },
  index: number,
  bytes: number,
  chunkZeroStored: boolean,
  canReadBack = false,
): Promise<HashPlan> {
  let h = live.get(session.id);
  if (!h) {
    if (chunkZeroStored && index !== 0) return { mode: "none" };
    h = {
      sessionId: session.id,
      chunkCount: session.chunkCount,
      hash: createHash("sha256"),
      next: 0,
      inflight: null,
      spooled: new Map(),
      digest: null,
      persist: null,
      chain: Promise.resolve(),
      lastUsed: Date.now(),
      dead: false,
    };
    live.set(session.id, h);
  }
  touch(h);
  if (h.dead || h.digest) return { mode: "none" };
  if (index === h.next && h.inflight === null) {
    h.inflight = index;
    return { mode: "inline", hash: h.hash.copy() };
  }
  if (index > h.next && canReadBack && !h.spooled.has(index)) return { mode: "stored" };
  if (index > h.next && index - h.next <= SPOOL_WINDOW && !h.spooled.has(index) && spool.bytes + bytes <= SPOOL_MAX_BYTES) {
    const dir = await processSpoolDir("filestore-spool");
    const file = path.join(/*turbopackIgnore: true*/ dir, `${session.id}.${index}.${randomBytes(4).toString("hex")}`);
    spool.bytes += bytes;
    return { mode: "spool", file, stream: createWriteStream(file, { flags: "wx", highWaterMark: 1024 * 1024 }), bytes };
  }
  return { mode: "none" };
}

/** The chunk's request failed: forget its part in the digest. */
export function abandonChunk(sessionId: string, index: number, plan: HashPlan): void {
  const h = live.get(sessionId);
  if (plan.mode === "spool") {
    spool.bytes -= plan.bytes;
    plan.stream.destroy();
    void unlink(plan.file).catch(() => {});
  }
  if (h && plan.mode === "inline" && h.inflight === index) h.inflight = null;
}

/**
 * The chunk is recorded in the database: its bytes join the digest (now or when the gap closes).
 * `readBack` opens the stored part again (plan "stored"); `persist` saves the digest once complete.
 */
export function chunkRecorded(
  sessionId: string,
  index: number,
  plan: HashPlan,
  spoolUsable: boolean,
  persist: DigestWriter,
  readBack?: () => Promise<Readable | null>,
): void {
  const h = live.get(sessionId);
  if (!h || h.dead) {
    abandonChunk(sessionId, index, plan);
    return;
  }
  touch(h);
  h.persist = persist;
  if (plan.mode === "inline") {
    if (h.next !== index) {
      kill(h);
      return;
    }
    h.hash = plan.hash;
    h.next = index + 1;
    h.inflight = null;
  } else if (plan.mode === "spool") {
    if (!spoolUsable) {
      abandonChunk(sessionId, index, plan);
      return;
    }
    h.spooled.set(index, { file: plan.file, bytes: plan.bytes });
  } else if (plan.mode === "stored") {
    if (!readBack) {
      kill(h);
      return;
    }
    h.spooled.set(index, { read: readBack, bytes: 0 });
  }
  catchUp(h);
}

/**
 * A chunk was recorded that this process did not hash (another instance, the spool was full): the
 * digest can no longer be completed here.
 */
export function chunkMissed(sessionId: string, index: number): void {
  const h = live.get(sessionId);
  if (h && index >= h.next && h.inflight !== index && !h.spooled.has(index)) kill(h);
}

function catchUp(h: LiveHash): void {
  h.chain = h.chain.then(async () => {
    while (!h.dead && h.spooled.has(h.next)) {
      const waiting = h.spooled.get(h.next)!;
      try {
        const source = "file" in waiting ? createReadStream(waiting.file, { highWaterMark: 1024 * 1024 }) : await waiting.read();
        if (!source) throw new Error("the stored part is gone");
        for await (const buf of source) h.hash.update(buf as Buffer);
      } catch (e) {
        // The digest cannot be finished here; complete hashes the assembled object instead.
        log.error(`chunk ${h.sessionId}#${h.next} unreadable for the running hash: ${e instanceof Error ? e.message : e}`);
        kill(h);
        return;
      }
      h.spooled.delete(h.next);
      if ("file" in waiting) {
        spool.bytes -= waiting.bytes;
        await unlink(waiting.file).catch(() => {});
      }
      h.next++;
    }
    if (!h.dead && h.next === h.chunkCount && h.inflight === null && !h.digest) {
      h.digest = h.hash.digest("hex");
      await h.persist?.(h.sessionId, h.digest).catch((e) =>
        log.error(`saving the digest of ${h.sessionId} failed: ${e instanceof Error ? e.message : e}`),
      );
    }
  });
}

/** Waits for this process's catch-up hashing of the session; the digest when it covers everything. */
export async function settledDigest(sessionId: string): Promise<string | null> {
  const h = live.get(sessionId);
  if (!h) return null;
  await h.chain;
  return h.dead ? null : h.digest;
}

/** The session ended (completed, aborted, expired): free its hash and spool. */
export function dropLiveHash(sessionId: string): void {
  const h = live.get(sessionId);
  if (h) kill(h);
}

/** For tests and diagnostics. */
export function liveHashStats(): { sessions: number; spoolBytes: number } {
  return { sessions: live.size, spoolBytes: spool.bytes };
}
