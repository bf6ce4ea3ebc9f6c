import { stat } from "node:fs/promises";
import path from "node:path";
import type { Entry } from "../../client/client";
import { FilestoreError } from "../../client/errors";
import { sha256File } from "../../client/hash";
import { Limiter } from "../../client/limiter";
import { joinPath, splitPath, type Node } from "../../client/paths";
import { INSTANT_MIN_BYTES, uploadFile } from "../../client/upload";
import type { Context } from "../context";
import { exitCodeFor, UsageError } from "../exit-codes";
import { hashKey, Journal, journalKey } from "../journal";
import type { FileProgress, Progress } from "../progress";
import { walkLocal, type LocalFile, type LocalWalk } from "./local-tree";

// `filestore upload`: local files and folder trees into the drive, several files and chunks at a
// time, resumable (journal + upload.pending), with name clashes handled as --on-conflict says:
//   error (default)  a name that is taken fails that file (exit 5), the others go on;
//   skip             the file is left out;
//   rename           the server's own rule: the upload becomes "name (1).ext";
//   overwrite        the upload completes first (as "name (1).ext"), then the old file goes to the
//                    trash and the new one takes its name, so the old version is never lost before
//                    the new one is whole in the drive (and stays restorable from the trash).
// A taken name whose file has the same content (same SHA-256) is "up to date" in every mode, so
// running the same upload again (after an interruption, or in a cron job) sends nothing twice.

export type ConflictMode = "error" | "skip" | "rename" | "overwrite";

export interface UploadOptions {
  onConflict: ConflictMode;
  parallel: number;
  chunkSize: number;
  instant: boolean;
}

export type UploadStatus = "uploaded" | "resumed" | "instant" | "up-to-date" | "skipped" | "failed";

export interface UploadOutcome {
  local: string;
  path: string;
  status: UploadStatus;
  size: number;
  id?: string;
  sha256?: string | null;
  sentBytes: number;
  resumedChunks: number;
  error?: TransferError;
}

export interface TransferError {
  code: string;
  message: string;
  exitCode: number;
}

interface Target {
  /** Folder (segments) the sources go into, and the name of a single source (null: keep names). */
  folder: string[];
  rename: string | null;
}

/**
 * Where the sources go. Folders always go inside the destination folder under their own name
 * (`upload photos /backup` → /backup/photos/…), whether or not /backup exists yet, so an
 * interrupted upload run again lands in the same place. One file to a path that is not a folder
 * (and does not end in /) is uploaded as that path (`upload a.txt /docs/b.txt`).
 */
async function planTarget(ctx: Context, sources: string[], remote: string): Promise<Target> {
  const node = await ctx.paths.lookup(remote);
  const segs = splitPath(remote);
  const oneFile = sources.length === 1 && (await stat(sources[0]!)).isFile();
  if (!oneFile || remote.endsWith("/") || segs.length === 0 || node?.kind === "folder") {
    if (node && node.kind !== "folder") throw new FilestoreError("CONFLICT", `${joinPath(remote)} is a file, not a folder`);
    return { folder: segs, rename: null };
  }
  return { folder: segs.slice(0, -1), rename: segs[segs.length - 1]! };
}

function remotePath(f: { folder: string[]; name: string }): string {
  return joinPath(...f.folder, f.name);
}

export function failure(e: unknown): TransferError {
  const exitCode = exitCodeFor(e);
  if (e instanceof FilestoreError) return { code: e.code, message: e.message, exitCode };
  if (e instanceof UsageError) return { code: "USAGE", message: e.message, exitCode };
  return { code: "ERROR", message: e instanceof Error ? e.message : String(e), exitCode };
}

export async function uploadTree(ctx: Context, sources: string[], remote: string, opts: UploadOptions, progress: Progress): Promise<UploadOutcome[]> {
  for (const s of sources) {
    try {
      await stat(s);
    } catch {
      throw new FilestoreError("NOT_FOUND", `No such local file or folder: ${s}`);
    }
  }
  const target = await planTarget(ctx, sources, remote);
  const walk: LocalWalk = { files: [], folders: [], skipped: [] };
  for (const s of sources) {
    const name = target.rename ?? path.basename(path.resolve(s));
    await walkLocal(s, target.folder, name, walk);
  }
  for (const s of walk.skipped) ctx.out.note(`skipped ${s}`);
  progress.addTotal(walk.files.reduce((sum, f) => sum + f.size, 0));

  const outcomes: UploadOutcome[] = [];
  const outcome = (f: LocalFile, o: Omit<UploadOutcome, "local" | "path" | "size">) => {
    const full: UploadOutcome = { local: f.path, path: remotePath(f), size: f.size, ...o };
    outcomes.push(full);
    return full;
  };

  // Folders first (parents before children); a folder that cannot be made fails the files under it.
  const folderIds = new Map<string, Node>();
  const blocked = new Map<string, TransferError>();
  const keyOf = (segs: string[]) => joinPath(...segs);
  for (const segs of [target.folder, ...walk.folders]) {
    const key = keyOf(segs);
    if (folderIds.has(key) || [...blocked.keys()].some((b) => key === b || key.startsWith(`${b}/`))) continue;
    try {
      folderIds.set(key, await ctx.paths.mkdirp(key));
    } catch (e) {
      if (!(e instanceof FilestoreError) || e.code === "UNAUTHORIZED" || e.code === "NETWORK") throw e;
      blocked.set(key, failure(e));
    }
  }

  const journal = await Journal.open();
  const me = ctx.username;
  const pending = await ctx.client.call((t) => t.upload.pending.query());
  const limiter = new Limiter(opts.parallel);
  let stopAll: unknown = null;

  const uploadOne = async (f: LocalFile, bar: FileProgress) => {
    const folderKey = keyOf(f.folder);
    const blockedBy = [...blocked.entries()].find(([b]) => folderKey === b || folderKey.startsWith(`${b}/`));
    if (blockedBy) {
      bar.fail(blockedBy[1].message);
      outcome(f, { status: "failed", sentBytes: 0, resumedChunks: 0, error: blockedBy[1] });
      return;
    }
    const parentId = folderIds.get(folderKey)!.id;
    const key = journalKey(ctx.url, me, f, parentId, f.name);
    const record = journal.get(key);
    const announce = opts.instant && f.size >= INSTANT_MIN_BYTES;
    let sha256 = record?.sha256 ?? journal.get(hashKey(f))?.sha256 ?? null;
    const hash = async () => {
      if (sha256) return sha256;
      let hashed = 0;
      sha256 = await sha256File(f.path, { onBytes: (n) => bar.update((hashed += n), "hashing") });
      await journal.put({ key: hashKey(f), sha256, uploadId: null });
      return sha256;
    };

    const existing = await ctx.paths.child(parentId, f.name);
    if (existing) {
      if (existing.kind === "file" && existing.size === f.size && existing.sha256 === (await hash())) {
        await journal.forget(key);
        bar.finish("up to date", false);
        outcome(f, { status: "up-to-date", id: existing.id, sha256: existing.sha256, sentBytes: 0, resumedChunks: 0 });
        return;
      }
      if (opts.onConflict === "skip") {
        bar.finish("skipped (exists)", false);
        outcome(f, { status: "skipped", id: existing.id, sentBytes: 0, resumedChunks: 0 });
        return;
      }
      if (opts.onConflict === "error" || (opts.onConflict === "overwrite" && existing.kind === "folder")) {
        const what = existing.kind === "folder" ? "a folder" : "a different file";
        const hint = existing.kind === "folder" ? "" : " (see --on-conflict)";
        throw new FilestoreError("CONFLICT", `${remotePath(f)} exists and is ${what}${hint}`);
      }
    }

    // A session to continue: the journal's (this very file), else one the server lists with the
    // same name, size, folder and digest (only with a digest: without one it could be any file's).
    // Otherwise the file is hashed by uploadFile, in the same read as its chunk digests.
    let resumeUploadId = record?.uploadId ?? null;
    const candidates = announce ? pending.filter((p) => p.name === f.name && p.size === f.size && (p.parentId ?? null) === parentId && p.sha256) : [];
    if (!resumeUploadId && candidates.length) {
      const digest = await hash();
      resumeUploadId = candidates.find((p) => p.sha256 === digest)?.uploadId ?? null;
    }

    const result = await uploadFile(ctx.client, f.path, {
      parentId,
      name: f.name,
      chunkSize: opts.chunkSize,
      parallel: opts.parallel,
      limiter,
      sha256: sha256 ?? undefined,
      instant: announce,
      resumeUploadId,
      onSession: async (s) => {
        await journal.put({ key, sha256: s.sha256, uploadId: s.uploadId });
        if (s.sha256 && !sha256) await journal.put({ key: hashKey(f), sha256: s.sha256, uploadId: null });
      },
      onProgress: (p) => bar.update(p.done, p.phase),
    });
    let file: Entry = result.file;
    if (opts.onConflict === "overwrite" && existing && existing.id !== file.id) {
      // The new file is whole in the drive: now the old one goes to the trash and the new one takes its name.
      await ctx.client.call((t) => t.file.delete.mutate({ ids: [existing.id] }));
      if (file.name !== f.name) file = await ctx.client.call((t) => t.file.rename.mutate({ id: file.id, name: f.name }));
    }
    await ctx.paths.remember(file);
    await journal.forget(key);
    const status: UploadStatus = result.instant ? "instant" : result.resumedChunks > 0 ? "resumed" : "uploaded";
    const as = file.name !== f.name ? ` as ${file.name}` : "";
    bar.finish(`${result.instant ? "秒传 (instant)" : status}${as}`, !result.instant);
    outcome(f, { status, id: file.id, sha256: file.sha256, sentBytes: result.sentBytes, resumedChunks: result.resumedChunks, ...(as ? { path: joinPath(...f.folder, file.name) } : {}) });
  };

  // Files: several at a time (their chunks share the limiter). A failed file does not stop the
  // others, except when the sign-in ended or the server is gone: then nothing else is started.
  let next = 0;
  const lane = async () => {
    while (stopAll === null && next < walk.files.length) {
      const f = walk.files[next++]!;
      const bar = progress.file(remotePath(f), f.size);
      try {
        await uploadOne(f, bar);
      } catch (e) {
        const err = failure(e);
        bar.fail(err.message);
        outcome(f, { status: "failed", sentBytes: 0, resumedChunks: 0, error: err });
        if (e instanceof FilestoreError && (e.code === "UNAUTHORIZED" || e.code === "NETWORK")) stopAll = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, walk.files.length) }, lane));
  if (stopAll !== null) throw stopAll;
  return outcomes;
}

