import type { Readable } from "node:stream";
import type { Actor } from "~/server/auth/actor";
import { db } from "~/server/db/client";
import { DomainError } from "~/server/errors";
import { commitBlob, type CommittedBlob } from "~/server/services/blobs";
import { toEntryDto, type EntryDto } from "~/server/services/entry-dto";
import { assertParentFolder, insertFileEntry } from "~/server/services/files/insert-file";
import { withTreeLock } from "~/server/services/files/tree-tx";
import { nameProblem } from "~/server/services/names";
import { chargeUsed, quotaState } from "~/server/services/quota";
import { getStorage, type StorageDriver } from "~/server/storage";
import { Meter } from "./streams";
import { sessionTtlMs } from "./limits";
import { chooseMime } from "./mime";
import { abortFormSessions, markCompleted, openFormSession } from "./session-lifecycle";
import { storageError } from "./storage-errors";
import { logger } from "~/server/log";

const log = logger("uploads");

// POST /api/files: multipart/form-data, an optional `parentId` field before one or more file
// fields. Each file streams to its own storage key while its SHA-256 is computed; nothing is
// visible until the whole form has arrived intact, then one transaction creates every blob and
// entry. Any failure (truncated form, bad name, someone else's folder, quota) leaves nothing: the
// staged objects are deleted. Each staged file is recorded as a `form` session first, so even a
// crash mid-body leaves a row the sweeper uses to delete the bytes.

/** A multipart/form-data body as HTTP parsed it (src/server/http/upload-bodies.ts formParts). */
export interface FormParts {
  /**
   * Reads the body, calling `field` and `file` for its parts in order (each file stream must be
   * read or resumed). Settles once the body was read to its end; rejects on a malformed form, too
   * many files or a client that went away.
   */
  read(handlers: {
    field(name: string, value: string): void;
    file(stream: Readable, info: { filename: string | undefined; mimeType: string }): void;
  }): Promise<void>;
  /** Stops reading the body (after a failure). */
  stop(): void;
}

interface Staged {
  sessionId: string;
  key: string;
  name: string;
  size: number;
  sha256: string;
  mime: string;
}

async function freeBytes(userId: string): Promise<number> {
  const quota = await quotaState(userId);
  if (!quota) throw new DomainError("UNAUTHORIZED", "Sign in first");
  return Number(quota.freeBytes);
}

const overQuota = () => new DomainError("PAYLOAD_TOO_LARGE", "Not enough space left in your drive");

async function stageFile(
  storage: StorageDriver,
  actor: Actor,
  parentId: string | null,
  name: string,
  declaredType: string,
  file: Readable,
  meter: Meter,
  room: number,
  staged: Staged[],
): Promise<void> {
  const mime = chooseMime(name, declaredType);
  const { id, key } = await openFormSession({ ownerId: actor.userId, parentId, name, driver: storage.name, ttlMs: sessionTtlMs() });
  meter.limit(room, overQuota);
  try {
    await storage.put(key, meter, { contentType: mime });
  } catch (e) {
    file.resume();
    meter.destroy();
    await storage.delete(key).catch(() => {});
    await abortFormSessions([id]);
    throw meter.failure ?? storageError(e);
  }
  staged.push({ sessionId: id, key, name, size: meter.bytes, sha256: meter.digest!.toString("hex"), mime });
}

/** Deletes what a failed form left behind. */
async function discard(storage: StorageDriver, staged: Staged[]): Promise<void> {
  for (const s of staged) {
    await storage.delete(s.key).catch((e) => log.error(`cleaning ${s.key} failed: ${e instanceof Error ? e.message : e}`));
  }
  await abortFormSessions(staged.map((s) => s.sessionId));
}

export async function uploadForm(actor: Actor, form: FormParts): Promise<EntryDto[]> {
  const storage = getStorage();
  const staged: Staged[] = [];
  let parentId: string | null = null;
  let sawFile = false;
  let room = 0;
  let failure: unknown = null;
  let work: Promise<void> = Promise.resolve();

  let failed: (e: unknown) => void = () => {};
  // Settles as soon as the service fails the form (fail), or once the body and the work on its files are done.
  const parsed = new Promise<void>((resolve, reject) => {
    failed = reject;
    form
      .read({
        field: (name, value) => {
          if (name !== "parentId") return;
          if (sawFile) return fail(new DomainError("BAD_REQUEST", "parentId must come before the files"));
          parentId = value === "" || value === "null" ? null : value;
        },
        file: (file, info) => onFile(file, info),
      })
      .then(
        () => work.then(() => (failure ? reject(failure) : resolve())),
        (e: unknown) => fail(e),
      );
  });
  function fail(e: unknown) {
    if (!failure) failure = e instanceof DomainError ? e : new DomainError("BAD_REQUEST", `Malformed multipart body: ${(e as Error).message}`);
    failed(failure);
  }
  function onFile(file: Readable, info: { filename: string | undefined; mimeType: string }) {
    if (!info.filename) {
      // A browser's empty file input (no file chosen): nothing to store.
      file.resume();
      return;
    }
    const first = !sawFile;
    sawFile = true;
    const name = info.filename ?? "";
    // Piped at once, so an error of the part (client gone, form cut) always reaches the meter;
    // the meter's bound (free quota) is set once known, before storage reads from it.
    const meter = new Meter({});
    file.once("error", (e) => meter.destroy(e));
    file.pipe(meter);
    work = work.then(async () => {
      if (failure) {
        meter.destroy();
        file.resume();
        return;
      }
      try {
        if (first) {
          if (parentId !== null && parentId.length > 32) throw new DomainError("NOT_FOUND", "Folder not found");
          await db.$transaction((tx) => assertParentFolder(tx, actor.userId, parentId));
          room = await freeBytes(actor.userId);
        }
        const problem = nameProblem(name);
        if (problem) throw new DomainError("BAD_REQUEST", `File name ${JSON.stringify(name)}: ${problem}`);
        await stageFile(storage, actor, parentId, name, info.mimeType, file, meter, room, staged);
        room -= staged[staged.length - 1]!.size;
      } catch (e) {
        meter.destroy();
        file.unpipe(meter);
        file.resume();
        fail(e);
      }
    });
  }

  try {
    await parsed;
    await work;
    if (failure) throw failure;
    if (staged.length === 0) throw new DomainError("BAD_REQUEST", "No file in the form");
  } catch (e) {
    form.stop();
    await work.catch(() => {});
    await discard(storage, staged);
    throw e;
  }

  let results: Array<{ entry: Parameters<typeof toEntryDto>[0]; created: boolean; key: string }>;
  try {
    // Lock order (tree-tx.ts): the owner's row, the target folder, the blobs, then the new rows.
    results = await withTreeLock(
      actor.userId,
      async (tx) => {
        await assertParentFolder(tx, actor.userId, parentId);
        await chargeUsed(tx, actor.userId, staged.reduce((n, s) => n + s.size, 0));
        // Blobs in ascending sha256, the order commitBlob locks them in (see there).
        const blobs = new Map<Staged, CommittedBlob>();
        for (const s of [...staged].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0))) {
          blobs.set(s, await commitBlob(tx, { sha256: s.sha256, size: s.size, driver: storage.name, storageKey: s.key }));
        }
        const out = [];
        for (const s of staged) {
          const { blob, created } = blobs.get(s)!;
          const entry = await insertFileEntry(tx, {
            ownerId: actor.userId,
            parentId,
            name: s.name,
            blobId: blob.id,
            size: s.size,
            mime: s.mime,
            onClash: "suffix",
          });
          await markCompleted(tx, s.sessionId, "open", { entryId: entry.id, contentSha256: s.sha256, size: s.size });
          out.push({ entry, created, key: s.key });
        }
        return out;
      },
      { timeout: 120_000 },
    );
  } catch (e) {
    await discard(storage, staged);
    throw e;
  }
  for (const r of results) {
    if (!r.created) await storage.delete(r.key).catch(() => {});
  }
  return results.map((r) => toEntryDto(r.entry));
}
