import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { blobStorage, retainBlob } from "~/server/services/blobs";
import { entryDtoInclude, toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder, insertFileEntry } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { commitReserved } from "~/server/services/quota";
import type { Blob } from "~/server/db/generated/client";
import { parseRanges, type ChallengeRange } from "./challenge";
import { throttles } from "./limits";
import { guessMime } from "./mime";
import { assertOpen, markCompleted } from "./session-lifecycle";
import { loadOwnedSession, uploadIdSchema } from "./sessions";
import { hitThrottle } from "./throttle";
import { logger } from "~/server/log";

const log = logger("uploads");

// upload.prove: the answer to a 秒传 challenge. The challenge is burned by the first attempt,
// right or wrong (one conditional UPDATE), so each nonce can be tried once; a wrong answer leaves
// an ordinary chunked session behind. The expected answer is computed from the stored blob with
// ranged reads: at most 16 × 64 KiB, whatever the file's size.

export const proveInput = z.object({
  uploadId: uploadIdSchema,
  challengeId: z.string().min(1).max(64),
  proof: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "proof must be a hex SHA-256")
    .transform((s) => s.toLowerCase()),
});
export type ProveInput = z.infer<typeof proveInput>;

async function expectedProof(blob: Blob, ranges: ChallengeRange[]): Promise<Buffer | null> {
  const storage = blobStorage(blob.driver);
  const hash = createHash("sha256");
  for (const { offset, length } of ranges) {
    if (length === 0) continue;
    // Issue 17 (transfer branch): bytes that are missing, shorter than recorded or unreachable make the
    // proof fail cleanly (FORBIDDEN, the session goes on as a normal upload), never a 500.
    try {
      const stream = await storage.get(blob.storageKey, { start: offset, end: offset + length - 1 });
      if (!stream) return null;
      let got = 0;
      for await (const buf of stream) {
        got += (buf as Buffer).length;
        hash.update(buf as Buffer);
      }
      if (got !== length) return null;
    } catch (e) {
      log.error(`reading blob ${blob.id} for a 秒传 proof failed: ${e instanceof Error ? e.message : e}`);
      return null;
    }
  }
  return hash.digest();
}

const wrong = (why: string) =>
  new DomainError("FORBIDDEN", `${why}; upload the file's chunks instead`, { details: { fallback: "chunked" } });

export async function proveUpload(actor: Actor, input: ProveInput): Promise<{ file: EntryDto }> {
  const t = throttles.prove;
  await hitThrottle(`upl:prove:${actor.userId}`, t.limit, t.windowSeconds, "proof attempts");
  const session = await loadOwnedSession(actor, input.uploadId);
  if (session.state === "completed" && session.resultEntryId) {
    // A retried successful proof (the reply was lost): the same file again.
    const entry = await db.$primary().entry.findFirst({ where: { id: session.resultEntryId, ownerId: actor.userId }, include: entryDtoInclude });
    if (entry) return { file: toEntryDto(entry) };
  }
  assertOpen(session);

  // Burn the challenge first: whatever happens next, this nonce is used up.
  const burned = await db.$executeRaw`
    UPDATE UploadSession SET challengeId = NULL, challengeRanges = NULL, challengeExpires = NULL, updatedAt = NOW(3)
    WHERE id = ${session.id} AND state = 'open' AND challengeId = ${input.challengeId}`;
  if (burned !== 1) throw wrong("No such challenge (it may have been used already)");
  if (!session.challengeExpires || session.challengeExpires <= new Date()) throw wrong("The challenge expired");
  const ranges = parseRanges(session.challengeRanges);
  const blob = session.challengeBlobId ? await db.$primary().blob.findUnique({ where: { id: session.challengeBlobId } }) : null;
  if (!ranges || !blob || blob.state !== "ready" || blob.size !== session.size || blob.sha256 !== session.claimedSha256) {
    throw wrong("The content is no longer available for instant upload");
  }
  const expected = await expectedProof(blob, ranges);
  if (!expected) throw wrong("The content is no longer available for instant upload");
  if (!timingSafeEqual(expected, Buffer.from(input.proof, "hex"))) throw wrong("Wrong proof");

  // Lock order (tree-tx.ts): the owner's row, the target folder, the blob, then the session and entry.
  const entry = await withTreeLock(actor.userId, async (tx) => {
    await assertParentFolder(tx, actor.userId, session.parentId);
    // The blob is referenced before the session completes; retainBlob refuses a blob being collected.
    await retainBlob(tx, blob.id);
    const created = await insertFileEntry(tx, {
      ownerId: actor.userId,
      parentId: session.parentId,
      name: session.name,
      blobId: blob.id,
      size: Number(session.size),
      mime: guessMime(session.name),
      onClash: "suffix",
    });
    await commitReserved(tx, actor.userId, session.reservedBytes, session.size);
    await markCompleted(tx, session.id, "open", { entryId: created.id, contentSha256: blob.sha256 });
    return created;
  });
  // A chunk upload may have started meanwhile (the client gave up waiting): its bytes are not needed.
  const after = await db.$primary().uploadSession.findUnique({ where: { id: session.id }, select: { multipartId: true } });
  if (after?.multipartId) {
    await blobStorage(session.driver).multipart.abort(session.stagingKey, after.multipartId).catch(() => {});
    await db.uploadChunk.deleteMany({ where: { sessionId: session.id } });
  }
  return { file: toEntryDto(entry) };
}
