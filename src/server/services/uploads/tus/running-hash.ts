import { createHash, type Hash } from "node:crypto";

// The whole-content SHA-256 of a tus upload, built while its PATCHes stream in. tus bytes arrive
// strictly in order, so unlike the chunked uploads' live hash (../live-hash.ts, which has to
// reorder parallel chunks) this is one hash state per upload, valid for exactly one offset: the
// state is adopted only for offsets that were recorded as durably stored. A PATCH that starts at an
// offset this process has no state for (earlier bytes went to another instance, or a restart)
// cannot build the digest; completion then hashes the assembled object once (complete.ts).

/** A state untouched this long is dropped (the upload is idle, or continues elsewhere). */
const IDLE_MS = 30 * 60_000;

interface State {
  offset: number;
  hash: Hash;
  lastUsed: number;
}

const states = new Map<string, State>();

setInterval(() => {
  const now = Date.now();
  for (const [id, s] of states) if (now - s.lastUsed > IDLE_MS) states.delete(id);
}, 60_000).unref();

/** A hash of bytes [0, offset) to continue from, or null when this process cannot know it. */
export function hashAt(sessionId: string, offset: number): Hash | null {
  if (offset === 0) return createHash("sha256");
  const s = states.get(sessionId);
  if (!s || s.offset !== offset) return null;
  s.lastUsed = Date.now();
  return s.hash.copy();
}

/** Bytes [0, offset) are recorded and `hash` covers exactly them. */
export function adoptHash(sessionId: string, offset: number, hash: Hash): void {
  states.set(sessionId, { offset, hash, lastUsed: Date.now() });
}

export function dropHash(sessionId: string): void {
  states.delete(sessionId);
}
