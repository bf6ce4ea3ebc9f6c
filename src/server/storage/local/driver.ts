import { constants } from "node:fs";
import { copyFile, mkdir, open, opendir, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { StorageError, wrapError } from "../errors";
import { assertValidKey, assertValidPrefix } from "../keys";
import { assertValidRange, rangeNotSatisfiable, resolveRange } from "../range";
import { ExactSize, Md5Check, assertSize } from "../streams";
import type { ByteRange, ObjectHead, ObjectListing, PutResult, StorageDriver, WriteChecks } from "../types";
import {
  errnoOf,
  etagOf,
  fsyncPath,
  layoutOf,
  objectPath,
  pruneEmptyDirs,
  renameIntoPlace,
  tempPath,
  unlinkQuietly,
  writeStreamToFile,
  type LocalLayout,
} from "./files";
import { LOCAL_MAX_PARTS, createLocalMultipart } from "./multipart";

// The default driver: objects are files under STORAGE_LOCAL_DIR/objects. Every write goes to a temp
// file on the same filesystem, is flushed (fsync) and renamed into place, so a reader sees the old
// object or the new one, never a half-written one. Limitation: a key cannot also be a "directory" of
// other keys ("a" and "a/b" cannot both exist); keys.ts's layouts never do that.

export interface LocalDriverConfig {
  /** Root directory; created when missing. */
  root: string;
}

const DRIVER = "local" as const;
/** Read size of object streams: 64 KiB (Node's default) costs 2-6x the syscalls and time of this. */
const READ_CHUNK_BYTES = 1024 * 1024;

export function createLocalDriver(config: LocalDriverConfig): StorageDriver {
  const layout: LocalLayout = layoutOf(config.root);
  let ready: Promise<void> | undefined;
  const ensureDirs = () =>
    (ready ??= Promise.all([layout.objects, layout.tmp, layout.uploads].map((d) => mkdir(d, { recursive: true }))).then(
      () => undefined,
      (e: unknown) => {
        ready = undefined;
        throw e;
      },
    ));

  async function headOf(key: string): Promise<ObjectHead | null> {
    try {
      const st = await stat(objectPath(layout, key), { bigint: true });
      if (!st.isFile()) return null;
      return { size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw e;
    }
  }

  async function put(key: string, body: Readable, options: { contentType?: string; size?: number } & WriteChecks = {}): Promise<PutResult> {
    assertValidKey(key, "put");
    const ctx = { driver: DRIVER, operation: "put", key };
    if (options.size !== undefined) assertSize(options.size, ctx);
    const tmp = tempPath(layout);
    try {
      await ensureDirs();
      const checks = [
        ...(options.size === undefined ? [] : [new ExactSize(options.size, ctx)]),
        ...(options.contentMd5 === undefined ? [] : [new Md5Check(options.contentMd5, ctx)]),
      ];
      await writeStreamToFile(tmp, body, checks);
      const st = await stat(tmp, { bigint: true }); // rename keeps inode, size and mtime
      await renameIntoPlace(tmp, objectPath(layout, key));
      return { size: Number(st.size), etag: etagOf(st) };
    } catch (e) {
      body.destroy();
      await unlinkQuietly(tmp);
      throw wrapError(e, ctx);
    }
  }

  async function get(key: string, range?: ByteRange): Promise<Readable | null> {
    assertValidKey(key, "get");
    if (range) assertValidRange(range, { driver: DRIVER, key });
    let fh;
    try {
      fh = await open(objectPath(layout, key), "r");
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw wrapError(e, { driver: DRIVER, operation: "get", key });
    }
    try {
      // Size from the open descriptor: a concurrent put renames a new file in, this one stays whole.
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return null;
      }
      if (!range) return fh.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
      const offsets = resolveRange(range, st.size);
      if (!offsets) throw rangeNotSatisfiable({ driver: DRIVER, key }, range);
      return fh.createReadStream({ start: offsets.start, end: offsets.end, highWaterMark: READ_CHUNK_BYTES });
    } catch (e) {
      await fh.close();
      throw wrapError(e, { driver: DRIVER, operation: "get", key });
    }
  }

  async function head(key: string): Promise<ObjectHead | null> {
    assertValidKey(key, "head");
    try {
      return await headOf(key);
    } catch (e) {
      throw wrapError(e, { driver: DRIVER, operation: "head", key });
    }
  }

  async function remove(key: string): Promise<void> {
    assertValidKey(key, "delete");
    const file = objectPath(layout, key);
    try {
      await unlink(file);
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return;
      throw wrapError(e, { driver: DRIVER, operation: "delete", key });
    }
    await pruneEmptyDirs(path.dirname(file), layout.objects);
  }

  async function* walk(dir: string, keyPrefix: string): AsyncGenerator<ObjectListing> {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw e;
    }
    for await (const entry of handle) {
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        yield* walk(path.join(dir, entry.name), `${key}/`);
      } else if (entry.isFile()) {
        const st = await stat(path.join(dir, entry.name)).catch(() => null); // deleted meanwhile
        if (st) yield { key, size: st.size };
      }
    }
  }

  async function* list(prefix: string): AsyncGenerator<ObjectListing> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash === -1 ? "" : prefix.slice(0, slash + 1);
    const dir = dirKey === "" ? layout.objects : objectPath(layout, dirKey.slice(0, -1));
    try {
      for await (const item of walk(dir, dirKey)) {
        if (item.key.startsWith(prefix)) yield item;
      }
    } catch (e) {
      throw wrapError(e, { driver: DRIVER, operation: "list", key: prefix });
    }
  }

  async function copy(sourceKey: string, targetKey: string): Promise<PutResult | null> {
    assertValidKey(sourceKey, "copy");
    assertValidKey(targetKey, "copy");
    const tmp = tempPath(layout);
    try {
      await ensureDirs();
      try {
        // copy_file_range / reflink where the filesystem has it: the kernel copies, not this process.
        await copyFile(objectPath(layout, sourceKey), tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      } catch (e) {
        const code = errnoOf(e);
        if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return null;
        throw e;
      }
      await fsyncPath(tmp);
      const st = await stat(tmp, { bigint: true });
      await renameIntoPlace(tmp, objectPath(layout, targetKey));
      return { size: Number(st.size), etag: etagOf(st) };
    } catch (e) {
      await unlinkQuietly(tmp);
      throw wrapError(e, { driver: DRIVER, operation: "copy", key: sourceKey });
    }
  }

  async function check(): Promise<void> {
    try {
      await ensureDirs();
      const probe = tempPath(layout);
      await writeFile(probe, "check", { flag: "wx" });
      await unlink(probe);
      const [tmpDev, objectsDev, uploadsDev] = await Promise.all([stat(layout.tmp), stat(layout.objects), stat(layout.uploads)]);
      if (tmpDev.dev !== objectsDev.dev || uploadsDev.dev !== objectsDev.dev) {
        throw new StorageError("PROVIDER", `local storage: ${layout.tmp}, ${layout.uploads} and ${layout.objects} must be on one filesystem (writes are renamed into place)`, {
          driver: DRIVER,
          operation: "check",
        });
      }
    } catch (e) {
      if (e instanceof StorageError) throw e;
      throw new StorageError("UNAVAILABLE", `local storage: directory ${layout.root} is not writable: ${(e as Error).message}`, {
        driver: DRIVER,
        operation: "check",
        cause: e,
      });
    }
  }

  const multipart = createLocalMultipart(layout);
  const withDirs = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    await ensureDirs();
    return fn(...args);
  };

  return {
    name: DRIVER,
    capabilities: { multipart: true, presign: false, minPartBytes: 1, maxPartBytes: 5 * 1024 ** 3, maxParts: LOCAL_MAX_PARTS },
    put,
    get,
    head,
    delete: remove,
    list,
    copy,
    relativeFilePath: (key) => {
      assertValidKey(key, "relativeFilePath");
      return `objects/${key}`;
    },
    presignGet: async (key) => {
      assertValidKey(key, "presignGet");
      return null;
    },
    multipart: {
      create: withDirs(multipart.create),
      uploadPart: withDirs(multipart.uploadPart),
      complete: withDirs(multipart.complete),
      abort: multipart.abort,
      listParts: multipart.listParts,
      readPart: multipart.readPart,
    },
    check,
  };
}
