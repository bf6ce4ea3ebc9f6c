import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { DomainError } from "~/server/errors";
import type { StorageDriver } from "~/server/storage";
import { tailPrefix } from "../keys";
import { storageError } from "../storage-errors";
import { logger } from "~/server/log";

const log = logger("tus");

// The "incomplete part" of a tus upload (as in tusd's s3store): object stores take parts of at
// least 5 MiB but a tus PATCH may end anywhere, so the bytes past the last whole part are kept in a
// small object of their own and put in front of the next PATCH's bytes. Every write goes to a new
// key (`<stagingKey>.tail.<random>`) that the session row then points at (tailKey), so a write that
// never gets recorded (checksum mismatch, crash, a writer that lost its lock) cannot damage the
// recorded one; superseded and orphaned tails share the prefix and are deleted with the session.

export function newTailKey(stagingKey: string): string {
  return `${tailPrefix(stagingKey)}${randomBytes(6).toString("hex")}`;
}

/** The first `bytes` bytes of the recorded tail (a longer object is a write that was not recorded). */
export async function readTail(storage: StorageDriver, tailKey: string, bytes: number): Promise<Readable> {
  let stream: Readable | null;
  try {
    stream = await storage.get(tailKey, { start: 0, end: bytes - 1 });
  } catch (e) {
    throw storageError(e);
  }
  if (!stream) throw new DomainError("INTERNAL_SERVER_ERROR", "The stored bytes of this upload are missing");
  return stream;
}

export async function deleteQuietly(storage: StorageDriver, key: string | null): Promise<void> {
  if (!key) return;
  await storage.delete(key).catch((e) => log.error(`deleting ${key} failed: ${e instanceof Error ? e.message : e}`));
}

/** Deletes every tail object of an upload (its session ended or completed). */
export async function removeTails(storage: StorageDriver, stagingKey: string): Promise<void> {
  const keys: string[] = [];
  for await (const o of storage.list(tailPrefix(stagingKey))) keys.push(o.key);
  for (const key of keys) await deleteQuietly(storage, key);
}
