import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import type { UploadSession } from "~/server/db/generated/client";
import { DomainError } from "~/server/errors";
import { blobStorage, commitBlob } from "~/server/services/blobs";
import { entryDtoInclude, toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder, insertFileEntry } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { commitReserved } from "~/server/services/quota";
import { isStorageError, type StorageDriver } from "~/server/storage";
import { dropLiveHash, settledDigest } from "./live-hash";
import { guessMime } from "./mime";
import { assertOpen, endSession, markCompleted, reopen, startCompleting, uploadGone } from "./session-lifecycle";
import { loadOwnedSession } from "./sessions";
import { storageError } from "./storage-errors";
import { logger } from "~/server/log";

const log = logger("uploads");

// upload.complete: every chunk present → the storage assembles the parts in place (S3 multipart
// complete / the local driver's rename; no byte passes through here) → the whole-content SHA-256
// the live hash built while the chunks streamed in is checked against the claim → one transaction
// makes the blob and the entry. Only a process that did not see every chunk reads the object back.

/** A session stuck in `completing` this long (its completer died) may be completed again. */
const COMPLETING_STALE_MS = 10 * 60_000;

const EMPTY_SHA256 = createHash("sha256").digest("hex");

async function resultOf(session: UploadSession): Promise<{ file: EntryDto }> {
  const entry = session.resultEntryId
    ? await db.$primary().entry.findFirst({
        where: { id: session.resultEntryId, ownerId: session.ownerId },
        include: entryDtoInclude,
      })
    : null;
  if (!entry) throw new DomainError("NOT_FOUND", "The uploaded file no longer exists");
  return { file: toEntryDto(entry) };
}

/** Hashes an assembled object (only when the live hash could not cover every chunk). */
async function hashObject(storage: StorageDriver, key: string): Promise<string> {
  const stream = await storage.get(key);
  if (!stream) throw new DomainError("INTERNAL_SERVER_ERROR", "The assembled upload is missing");
  const hash = createHash("sha256");
  for await (const buf of stream) hash.update(buf as Buffer);
  return hash.digest("hex");
}

async function missingIndices(session: UploadSession): Promise<number[]> {
  const rows = await db.$primary().uploadChunk.findMany({ where: { sessionId: session.id }, select: { index: true } });
  const have = new Set(rows.map((r) => r.index));
  const missing: number[] = [];
  for (let i = 0; i < session.chunkCount; i++) if (!have.has(i)) missing.push(i);
  return missing;
}

function preconditionMissing(missing: number[]): DomainError {
  return new DomainError("PRECONDITION_FAILED", `${missing.length} chunk(s) missing`, {
    details: { missing: missing.slice(0, 1000), missingCount: missing.length },
  });
}

/**
 * Parts the storage does not hold as recorded (a writer that was taken over still finished): their
 * rows are dropped so the client sends them again, and the digest is recomputed from scratch.
 */
async function dropMismatchedParts(storage: StorageDriver, session: UploadSession): Promise<number[]> {
  const parts = session.multipartId ? await storage.multipart.listParts(session.stagingKey, session.multipartId) : null;
  const stored = new Map((parts ?? []).map((p) => [p.partNumber, p.etag]));
  const rows = await db.$primary().uploadChunk.findMany({ where: { sessionId: session.id } });
  const bad = rows.filter((r) => stored.get(r.index + 1) !== r.etag).map((r) => r.index);
  await db.$transaction(async (tx) => {
    if (bad.length) await tx.uploadChunk.deleteMany({ where: { sessionId: session.id, index: { in: bad } } });
    await tx.uploadSession.update({ where: { id: session.id }, data: { contentSha256: null } });
  });
  dropLiveHash(session.id);
  return bad;
}

/** Assembles the object; tolerates an earlier completer that assembled it and then died. */
async function assemble(storage: StorageDriver, session: UploadSession): Promise<void> {
  const size = Number(session.size);
  if (size === 0) {
    await storage.put(session.stagingKey, Readable.from([]), { size: 0 });
    return;
  }
  if (!session.multipartId) throw new DomainError("PRECONDITION_FAILED", "No chunk was uploaded");
  const rows = await db.$primary().uploadChunk.findMany({ where: { sessionId: session.id }, orderBy: { index: "asc" } });
  const parts = rows.map((r) => ({ partNumber: r.index + 1, etag: r.etag ?? "" }));
  try {
    await storage.multipart.complete(session.stagingKey, session.multipartId, parts);
  } catch (e) {
    if (isStorageError(e) && e.code === "NOT_FOUND") {
      const head = await storage.head(session.stagingKey);
      if (head && head.size === size) return;
    }
    if (isStorageError(e) && e.code === "INVALID_PART") {
      const bad = await dropMismatchedParts(storage, session);
      if (bad.length) throw preconditionMissing(bad);
    }
    throw storageError(e);
  }
}

export async function completeUpload(actor: Actor, uploadId: string): Promise<{ file: EntryDto }> {
  const session = await loadOwnedSession(actor, uploadId);
  if (session.state === "completed") return resultOf(session);
  // A session stuck completing may be completed again (completeSession decides).
  if (session.state !== "completing") assertOpen(session);
  return completeSession(session);
}

async function reload(sessionId: string): Promise<UploadSession> {
  const session = await db.$primary().uploadSession.findUnique({ where: { id: sessionId } });
  if (!session) throw uploadGone();
  return session;
}

/**
 * Completes a session whose every part is recorded (chunked sessions and tus uploads alike): the
 * caller has checked that it is the actor's and open (or stuck completing).
 */
export async function completeSession(loaded: UploadSession): Promise<{ file: EntryDto }> {
  let session = loaded;
  const missing = await missingIndices(session);
  if (missing.length) throw preconditionMissing(missing);

  // open → completing, exactly once: concurrent completes race here and one wins.
  if (!(await startCompleting(session.id, new Date(Date.now() - COMPLETING_STALE_MS)))) {
    const now = await reload(session.id);
    if (now.state === "completed") return resultOf(now);
    if (now.state === "completing") throw new DomainError("CONFLICT", "This upload is already being completed");
    throw uploadGone();
  }
  session = await reload(session.id);

  const storage = blobStorage(session.driver);
  const size = Number(session.size);
  let committed = false;
  try {
    // The live hash first: it may still be reading the last chunks back from their parts, which
    // assembling moves (local disk: the parts' file is renamed into place). Assembling first made
    // that read fail, and complete then hashed the whole object a second time.
    const live = size === 0 ? null : (session.contentSha256 ?? (await settledDigest(session.id)));
    await assemble(storage, session);
    const head = await storage.head(session.stagingKey);
    if (!head || head.size !== size) {
      throw new DomainError("INTERNAL_SERVER_ERROR", `Assembled upload has ${head?.size ?? "no"} bytes, expected ${size}`);
    }

    const digest =
      size === 0
        ? EMPTY_SHA256
        : (live ??
          (await db.$primary().uploadSession.findUnique({ where: { id: session.id } }))?.contentSha256 ??
          (await hashObject(storage, session.stagingKey)));

    if (session.claimedSha256 && session.claimedSha256 !== digest) {
      // Nothing enters the drive; the bytes go, the reservation is returned.
      await endSession(session, "aborted", "completing");
      throw new DomainError("BAD_REQUEST", "The uploaded content does not match the sha256 given at init", {
        details: { expected: session.claimedSha256, actual: digest },
      });
    }

    // Lock order (tree-tx.ts): the owner's row, the target folder, the blob, then the new rows.
    const result = await withTreeLock(session.ownerId, async (tx) => {
      await assertParentFolder(tx, session.ownerId, session.parentId);
      const { blob, created } = await commitBlob(tx, {
        sha256: digest,
        size,
        driver: session.driver,
        storageKey: session.stagingKey,
      });
      const entry = await insertFileEntry(tx, {
        ownerId: session.ownerId,
        parentId: session.parentId,
        name: session.name,
        blobId: blob.id,
        size,
        mime: guessMime(session.name),
        onClash: "suffix",
      });
      await commitReserved(tx, session.ownerId, session.reservedBytes, size);
      await markCompleted(tx, session.id, "completing", { entryId: entry.id, contentSha256: digest });
      await tx.uploadChunk.deleteMany({ where: { sessionId: session.id } });
      return { entry, created };
    });
    committed = true;
    dropLiveHash(session.id);
    if (!result.created) {
      // Same content was already stored: keep the one copy.
      await storage.delete(session.stagingKey).catch((e) =>
        log.error(`deleting duplicate bytes of ${session.id} failed: ${e instanceof Error ? e.message : e}`),
      );
    }
    return { file: toEntryDto(result.entry) };
  } catch (e) {
    if (!committed) {
      if (e instanceof DomainError && e.code === "NOT_FOUND") {
        // The target folder went away meanwhile: the upload cannot land anywhere.
        await endSession(session, "aborted", "completing");
      } else {
        await reopen(session.id);
      }
    }
    throw e;
  }
}
