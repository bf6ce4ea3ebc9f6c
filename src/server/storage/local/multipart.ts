import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StorageError, wrapError } from "../errors";
import { assertValidKey } from "../keys";
import { ExactSize, Md5Check, assertPartNumber, assertSize, sortedParts } from "../streams";
import type { MultipartCreateOptions, PartInfo, PutResult, StorageDriver, WriteChecks } from "../types";
import {
  errnoOf,
  etagOf,
  objectPath,
  renameIntoPlace,
  tempPath,
  unlinkQuietly,
  WRITE_BUFFER_BYTES,
  writeStreamToFile,
  type LocalLayout,
} from "./files";

// Multipart uploads on disk, under uploads/<uploadId>/:
//   meta.json        { key, partSize?, contentType? }
//   parts/           one entry per stored part, named "<partNumber>.<etag>" (data file) or, in
//                    partSize mode, "<partNumber>.<etag>.<size>" (empty marker; data lives in ./data)
//   data             partSize mode only: every part written in place at (partNumber-1)*partSize
//
// Without partSize, complete() streams each part once into a temp file and renames it into place:
// one copy, the unavoidable one. With partSize (the caller promises fixed-size parts), parts land at
// their final offsets as they arrive and complete() is truncate + rename: no byte is copied at all.
// In that mode two concurrent uploads of the same part number write the same slot; callers serialise
// writes per part (the upload services hold a lock per chunk).

export const LOCAL_MAX_PARTS = 10_000;
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const DRIVER = "local" as const;

interface UploadMeta {
  key: string;
  partSize?: number;
  contentType?: string;
}

interface StoredPart {
  partNumber: number;
  etag: string;
  size: number;
  /** Data file (variable mode) or marker file (partSize mode). */
  file: string;
  mtimeMs: number;
}

function newEtag(): string {
  return randomBytes(12).toString("hex");
}

export function createLocalMultipart(layout: LocalLayout): StorageDriver["multipart"] {
  const uploadDir = (uploadId: string) => path.join(layout.uploads, uploadId);
  const partsDir = (uploadId: string) => path.join(layout.uploads, uploadId, "parts");
  const dataFile = (uploadId: string) => path.join(layout.uploads, uploadId, "data");

  const notFound = (operation: string, key: string, uploadId: string, cause?: unknown) =>
    new StorageError("NOT_FOUND", `local storage: ${operation} ${JSON.stringify(key)}: no multipart upload ${JSON.stringify(uploadId)}`, {
      driver: DRIVER,
      operation,
      cause,
    });

  /** The upload's metadata, or null when there is no such upload for this key. */
  async function readMeta(key: string, uploadId: string): Promise<UploadMeta | null> {
    if (!UPLOAD_ID.test(uploadId)) return null;
    try {
      const meta = JSON.parse(await readFile(path.join(uploadDir(uploadId), "meta.json"), "utf8")) as UploadMeta;
      return meta.key === key ? meta : null;
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return null;
      throw e;
    }
  }

  async function readParts(uploadId: string, meta: UploadMeta): Promise<StoredPart[]> {
    const dir = partsDir(uploadId);
    const names = await readdir(dir);
    const parts: StoredPart[] = [];
    for (const name of names) {
      const fields = name.split(".");
      const partNumber = Number(fields[0]);
      const etag = fields[1];
      if (!Number.isSafeInteger(partNumber) || !etag) continue;
      const file = path.join(dir, name);
      const st = await stat(file).catch((e: unknown) => {
        if (errnoOf(e) === "ENOENT") return null; // replaced by a concurrent upload of this part
        throw e;
      });
      if (!st) continue;
      const size = meta.partSize === undefined ? st.size : Number(fields[2]);
      if (meta.partSize !== undefined && (fields.length !== 3 || !Number.isSafeInteger(size))) continue;
      parts.push({ partNumber, etag, size, file, mtimeMs: st.mtimeMs });
    }
    return parts;
  }

  async function removeOtherEntries(uploadId: string, partNumber: number, keep?: string): Promise<void> {
    const dir = partsDir(uploadId);
    for (const name of await readdir(dir)) {
      if (name.startsWith(`${partNumber}.`) && name !== keep) await unlinkQuietly(path.join(dir, name));
    }
  }

  async function create(key: string, options: MultipartCreateOptions = {}): Promise<{ uploadId: string }> {
    assertValidKey(key, "multipart.create");
    const { partSize, contentType } = options;
    if (partSize !== undefined && (!Number.isSafeInteger(partSize) || partSize < 1)) {
      throw new StorageError("INVALID_ARGUMENT", `local storage: partSize ${partSize} is not an integer >= 1`, {
        driver: DRIVER,
        operation: "multipart.create",
      });
    }
    const uploadId = randomBytes(16).toString("hex");
    try {
      await mkdir(partsDir(uploadId), { recursive: true });
      if (partSize !== undefined) await writeFile(dataFile(uploadId), "", { flag: "wx" });
      const meta: UploadMeta = { key, partSize, contentType };
      await writeFile(path.join(uploadDir(uploadId), "meta.json"), JSON.stringify(meta), { flag: "wx" });
      return { uploadId };
    } catch (e) {
      await rm(uploadDir(uploadId), { recursive: true, force: true });
      throw wrapError(e, { driver: DRIVER, operation: "multipart.create", key });
    }
  }

  async function uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, checks: WriteChecks = {}): Promise<{ etag: string }> {
    assertValidKey(key, "multipart.uploadPart");
    assertPartNumber(partNumber, LOCAL_MAX_PARTS, { driver: DRIVER, key });
    assertSize(size, { driver: DRIVER, operation: "uploadPart", key });
    const ctx = { driver: DRIVER, operation: "uploadPart", key };
    try {
      const meta = await readMeta(key, uploadId);
      if (!meta) throw notFound("uploadPart", key, uploadId);
      const etag = newEtag();
      const guards = [new ExactSize(size, ctx), ...(checks.contentMd5 === undefined ? [] : [new Md5Check(checks.contentMd5, ctx)])];
      if (meta.partSize !== undefined) {
        if (size > meta.partSize) {
          throw new StorageError("INVALID_ARGUMENT", `local storage: part ${partNumber} has ${size} bytes, more than the upload's partSize ${meta.partSize}`, {
            driver: DRIVER,
            operation: "uploadPart",
          });
        }
        // Unlist the part before overwriting its slot, so a failed rewrite is never listed as the old part.
        await removeOtherEntries(uploadId, partNumber);
        const out = createWriteStream(dataFile(uploadId), { flags: "r+", start: (partNumber - 1) * meta.partSize, flush: true, highWaterMark: WRITE_BUFFER_BYTES });
        await pipeline([body, ...guards, out]);
        await writeFile(path.join(partsDir(uploadId), `${partNumber}.${etag}.${size}`), "", { flag: "wx" });
      } else {
        const tmp = tempPath(layout);
        await writeStreamToFile(tmp, body, guards);
        const name = `${partNumber}.${etag}`;
        try {
          await rename(tmp, path.join(partsDir(uploadId), name));
        } catch (e) {
          await unlinkQuietly(tmp);
          if (errnoOf(e) === "ENOENT") throw notFound("uploadPart", key, uploadId, e); // aborted meanwhile
          throw e;
        }
        await removeOtherEntries(uploadId, partNumber, name);
      }
      return { etag };
    } catch (e) {
      body.destroy();
      if (errnoOf(e) === "ENOENT") throw notFound("uploadPart", key, uploadId, e);
      throw wrapError(e, ctx);
    }
  }

  async function readPart(key: string, uploadId: string, partNumber: number, etag: string): Promise<Readable | null> {
    assertValidKey(key, "multipart.readPart");
    try {
      const meta = await readMeta(key, uploadId);
      if (!meta) return null;
      // One readdir and no stat per call (readParts stats every part: quadratic over a whole upload).
      const name = (await readdir(partsDir(uploadId))).find((n) => n === `${partNumber}.${etag}` || n.startsWith(`${partNumber}.${etag}.`));
      if (!name) return null;
      const highWaterMark = 1024 * 1024;
      if (meta.partSize === undefined) return createReadStream(path.join(partsDir(uploadId), name), { highWaterMark });
      const size = Number(name.split(".")[2]);
      if (!Number.isSafeInteger(size)) return null;
      if (size === 0) return Readable.from([]);
      const start = (partNumber - 1) * meta.partSize;
      return createReadStream(dataFile(uploadId), { start, end: start + size - 1, highWaterMark });
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return null; // aborted or completed meanwhile
      throw wrapError(e, { driver: DRIVER, operation: "multipart.readPart", key });
    }
  }

  async function complete(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<PutResult> {
    assertValidKey(key, "multipart.complete");
    const ctx = { driver: DRIVER, operation: "complete", key };
    const wanted = sortedParts(parts, LOCAL_MAX_PARTS, { driver: DRIVER, key });
    try {
      const meta = await readMeta(key, uploadId);
      if (!meta) throw notFound("complete", key, uploadId);
      const stored = await readParts(uploadId, meta);
      const chosen = wanted.map((w) => {
        const match = stored.find((s) => s.partNumber === w.partNumber && s.etag === w.etag);
        if (!match) {
          throw new StorageError("INVALID_PART", `local storage: complete ${JSON.stringify(key)}: part ${w.partNumber} with etag ${JSON.stringify(w.etag)} was not uploaded`, {
            driver: DRIVER,
            operation: "complete",
          });
        }
        return match;
      });
      const target = objectPath(layout, key);
      const { partSize } = meta;
      const inPlace =
        partSize !== undefined &&
        chosen.every((p, i) => p.partNumber === i + 1 && (i === chosen.length - 1 || p.size === partSize));

      if (inPlace) {
        const total = chosen.reduce((sum, p) => sum + p.size, 0);
        const fh = await open(dataFile(uploadId), "r+");
        try {
          await fh.truncate(total); // drops unlisted later parts and a longer earlier version of the last
          await fh.sync();
        } finally {
          await fh.close();
        }
        await renameIntoPlace(dataFile(uploadId), target);
      } else {
        const tmp = tempPath(layout);
        const source = dataFile(uploadId);
        async function* assembled() {
          for (const p of chosen) {
            if (p.size === 0) continue;
            const stream =
              partSize === undefined
                ? createReadStream(p.file)
                : createReadStream(source, { start: (p.partNumber - 1) * partSize, end: (p.partNumber - 1) * partSize + p.size - 1 });
            for await (const chunk of stream) yield chunk as Buffer;
          }
        }
        const out = createWriteStream(tmp, { flags: "wx", flush: true, highWaterMark: WRITE_BUFFER_BYTES });
        try {
          await pipeline(assembled, out);
          await renameIntoPlace(tmp, target);
        } catch (e) {
          await unlinkQuietly(tmp);
          throw e;
        }
      }
      await rm(uploadDir(uploadId), { recursive: true, force: true });
      const st = await stat(target, { bigint: true });
      return { size: Number(st.size), etag: etagOf(st) };
    } catch (e) {
      throw wrapError(e, ctx);
    }
  }

  async function abort(key: string, uploadId: string): Promise<void> {
    assertValidKey(key, "multipart.abort");
    try {
      if (!(await readMeta(key, uploadId))) return;
      await rm(uploadDir(uploadId), { recursive: true, force: true });
    } catch (e) {
      throw wrapError(e, { driver: DRIVER, operation: "abort", key });
    }
  }

  async function listParts(key: string, uploadId: string): Promise<PartInfo[] | null> {
    assertValidKey(key, "multipart.listParts");
    try {
      const meta = await readMeta(key, uploadId);
      if (!meta) return null;
      const stored = await readParts(uploadId, meta);
      const latest = new Map<number, StoredPart>();
      for (const p of stored) {
        const seen = latest.get(p.partNumber);
        if (!seen || p.mtimeMs >= seen.mtimeMs) latest.set(p.partNumber, p);
      }
      return [...latest.values()]
        .sort((a, b) => a.partNumber - b.partNumber)
        .map(({ partNumber, etag, size }) => ({ partNumber, etag, size }));
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return null; // aborted while we listed
      throw wrapError(e, { driver: DRIVER, operation: "listParts", key });
    }
  }

  return { create, uploadPart, complete, abort, listParts, readPart };
}
