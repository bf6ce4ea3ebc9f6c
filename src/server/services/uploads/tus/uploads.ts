import type { Actor } from "~/server/auth/actor";
import { quotaState } from "~/server/services/quota";
import { DomainError } from "~/server/errors";
import { entryName } from "~/server/services/names";
import { getStorage } from "~/server/storage";
import { MAX_CHUNK_BYTES } from "../limits";
import { endSession, openSession } from "../session-lifecycle";
import { dropHash } from "./running-hash";
import { finishUpload, loadTusSession } from "./session";
import { stateOf, writeUpload, type TusState, type TusWrite } from "./write";

// The tus service (API.md "tus 1.0.0 at /api/tus"): creation, offset, bytes, termination. HTTP and
// tus headers stay in src/server/http/routes/tus.ts; storage stays behind the session and write code.

export type { TusState, TusWrite } from "./write";

/** Largest upload the storage backend can take in parts of at most 64 MiB. */
export function maxUploadBytes(): number {
  const caps = getStorage().capabilities;
  return caps.maxParts * Math.min(MAX_CHUNK_BYTES, caps.maxPartBytes);
}

/** What the caller may still upload: the free quota, capped by maxUploadBytes. */
export async function maxUploadBytesFor(actor: Actor | null): Promise<number> {
  const max = maxUploadBytes();
  if (!actor) return max;
  const quota = await quotaState(actor.userId);
  return quota ? Math.min(max, Number(quota.freeBytes)) : 0;
}

export interface TusCreation {
  length: number;
  /** Upload-Metadata, decoded (a key without a value maps to null). */
  metadata: Record<string, string | null>;
  /** Upload-Metadata as the client sent it (HEAD repeats it). */
  rawMetadata: string | null;
}

export interface TusUpload extends TusState {
  uploadId: string;
}

/** POST /api/tus: a new upload; quota reserved as upload.init does. A 0-byte upload is a file at once. */
export async function createTusUpload(actor: Actor, input: TusCreation): Promise<TusUpload> {
  const filename = input.metadata.filename;
  if (!filename) throw new DomainError("BAD_REQUEST", "Upload-Metadata must carry the file's name as `filename`");
  const parsed = entryName.safeParse(filename);
  if (!parsed.success) throw new DomainError("BAD_REQUEST", `filename: ${parsed.error.issues[0]?.message ?? "invalid name"}`);
  const parentId = input.metadata.parentId || null;
  // Not a folder id of anyone's: the same answer as someone else's folder.
  if (parentId !== null && parentId.length > 32) throw new DomainError("NOT_FOUND", "Folder not found");
  if (input.length > maxUploadBytes()) {
    throw new DomainError("PAYLOAD_TOO_LARGE", `Uploads to this drive are at most ${maxUploadBytes()} bytes`);
  }
  const session = await openSession(actor, {
    protocol: "tus",
    name: parsed.data,
    size: input.length,
    parentId,
    multipart: true,
    metadata: input.rawMetadata === null ? undefined : { uploadMetadata: input.rawMetadata },
  });
  if (input.length === 0) return { uploadId: session.id, ...stateOf(await finishUpload(session.id)) };
  return { uploadId: session.id, ...stateOf(session) };
}

/** HEAD: the durably stored offset. An upload whose last byte is stored but not yet a file is completed first. */
export async function tusUploadStatus(actor: Actor, uploadId: string): Promise<TusState & { metadata: string | null }> {
  let session = await loadTusSession(actor, uploadId);
  if (session.state === "completing") throw new DomainError("LOCKED", "This upload is being completed; retry shortly");
  if (session.state === "open" && session.uploadOffset === session.size) {
    try {
      session = await finishUpload(session.id);
    } catch (e) {
      if (e instanceof DomainError && e.code === "CONFLICT") throw new DomainError("LOCKED", "This upload is being completed; retry shortly");
      throw e;
    }
  }
  const metadata = (session.metadata as { uploadMetadata?: string } | null)?.uploadMetadata ?? null;
  return { ...stateOf(session), metadata };
}

/** PATCH (and the body of a creation-with-upload). */
export async function patchTusUpload(actor: Actor, uploadId: string, req: TusWrite): Promise<TusState> {
  return writeUpload(await loadTusSession(actor, uploadId), req);
}

/** DELETE (termination): the bytes go and the reservation is given back. */
export async function terminateTusUpload(actor: Actor, uploadId: string): Promise<void> {
  const session = await loadTusSession(actor, uploadId);
  if (session.state === "completed") throw new DomainError("CONFLICT", "This upload is complete: delete the file instead");
  if (session.state !== "open" || !(await endSession(session, "aborted"))) {
    throw new DomainError("CONFLICT", "This upload is being completed");
  }
  dropHash(session.id);
}
