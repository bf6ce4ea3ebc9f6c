import { mkdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import type { Entry } from "../../client/client";
import { downloadFile, partPath } from "../../client/download";
import { FilestoreError } from "../../client/errors";
import { sha256File } from "../../client/hash";
import { joinPath, type Node } from "../../client/paths";
import type { Context } from "../context";
import type { FileProgress, Progress } from "../progress";
import { failure, type ConflictMode, type TransferError } from "./upload-tree";

// `filestore download`: a file or a whole folder to local disk, several files at a time, each
// verified against its SHA-256 before it takes its name. A `<name>.part` left by an interrupted run
// is resumed with Range. A local file that is already there:
//   same content (same size and SHA-256) → "up to date" in every mode;
//   otherwise --on-conflict: error (default; exit 5), skip, rename ("name (1).ext"), or overwrite
//   (replaced only once the new file is complete and verified).
// --continue treats a shorter local file as a partial download of this one (like wget -c/curl -C -).

export interface DownloadOptions {
  onConflict: ConflictMode;
  parallel: number;
  continue: boolean;
}

export type DownloadStatus = "downloaded" | "resumed" | "up-to-date" | "skipped" | "failed";

export interface DownloadOutcome {
  path: string;
  local: string;
  status: DownloadStatus;
  size: number;
  sha256: string | null;
  receivedBytes: number;
  resumedFrom: number;
  error?: TransferError;
}

interface Job {
  entry: Entry;
  remote: string;
  local: string;
}

async function statOrNull(p: string) {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

/** "a.txt" → "a (1).txt", "a (2).txt" …: the first name not taken locally. */
async function freeLocalName(file: string): Promise<string> {
  const ext = path.extname(file);
  const base = file.slice(0, file.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = `${base} (${n})${ext}`;
    if (!(await statOrNull(candidate)) && !(await statOrNull(partPath(candidate)))) return candidate;
  }
}

/** Every file under a folder, breadth-first, with its local path; folders are created on the way. */
async function collect(ctx: Context, folder: Node, remote: string, local: string, jobs: Job[], failed: Array<{ remote: string; local: string; error: TransferError }>) {
  const existing = await statOrNull(local);
  if (existing && !existing.isDirectory()) {
    failed.push({ remote, local, error: failure(new FilestoreError("CONFLICT", `${local} exists and is not a folder`)) });
    return;
  }
  await mkdir(local, { recursive: true });
  for (const entry of await ctx.paths.listAll(folder.id)) {
    const childRemote = joinPath(remote, entry.name);
    const childLocal = path.join(local, entry.name);
    if (entry.kind === "folder") await collect(ctx, entry, childRemote, childLocal, jobs, failed);
    else jobs.push({ entry, remote: childRemote, local: childLocal });
  }
}

export async function downloadTree(ctx: Context, remote: string, local: string, opts: DownloadOptions, progress: Progress): Promise<DownloadOutcome[]> {
  const node = await ctx.paths.stat(remote);
  const localStat = await statOrNull(local);
  const into = localStat?.isDirectory() || local.endsWith(path.sep) || local.endsWith("/");
  const jobs: Job[] = [];
  const failed: Array<{ remote: string; local: string; error: TransferError }> = [];
  if (node.kind === "file") {
    const entry = node as Entry;
    const dest = into ? path.join(local, entry.name) : local;
    await mkdir(path.dirname(path.resolve(dest)), { recursive: true });
    jobs.push({ entry, remote: joinPath(remote), local: dest });
  } else {
    // A folder always lands in `local` under its own name (created when missing), whether or not
    // `local` exists yet, so an interrupted download run again finds its .part files; the root's
    // contents go straight into `local`.
    const dest = node.id !== null ? path.join(local, node.name) : local;
    await collect(ctx, node, joinPath(remote), dest, jobs, failed);
  }
  progress.addTotal(jobs.reduce((sum, j) => sum + (j.entry.size ?? 0), 0));

  const outcomes: DownloadOutcome[] = failed.map((f) => ({
    path: f.remote,
    local: f.local,
    status: "failed",
    size: 0,
    sha256: null,
    receivedBytes: 0,
    resumedFrom: 0,
    error: f.error,
  }));

  const downloadOne = async (job: Job, bar: FileProgress): Promise<DownloadOutcome> => {
    const { entry } = job;
    const size = entry.size ?? 0;
    const base = { path: job.remote, size, sha256: entry.sha256, receivedBytes: 0, resumedFrom: 0 };
    let dest = job.local;
    const existing = await statOrNull(dest);
    const part = await statOrNull(partPath(dest));
    if (existing && !part) {
      if (existing.isDirectory()) throw new FilestoreError("CONFLICT", `${dest} exists and is a folder`);
      if (existing.size === size) {
        let hashed = 0;
        const local = await sha256File(dest, { onBytes: (n) => bar.update((hashed += n), "verifying") });
        if (local === entry.sha256) {
          bar.finish("up to date", false);
          return { ...base, local: dest, status: "up-to-date" };
        }
      }
      if (opts.continue && existing.size < size) {
        // The user says this file is an interrupted download of this one: resume it (verified at the end).
        await rename(dest, partPath(dest));
      } else if (opts.onConflict === "skip") {
        bar.finish("skipped (exists)", false);
        return { ...base, local: dest, status: "skipped" };
      } else if (opts.onConflict === "rename") {
        dest = await freeLocalName(dest);
      } else if (opts.onConflict === "error") {
        throw new FilestoreError("CONFLICT", `${dest} exists and is a different file (see --on-conflict, or --continue for a partial download)`);
      }
    }
    const result = await downloadFile(ctx.client, entry, dest, { onProgress: (p) => bar.update(p.done, p.phase) });
    const status: DownloadStatus = result.resumedFrom > 0 ? "resumed" : "downloaded";
    bar.finish(`${status}${dest !== job.local ? ` as ${path.basename(dest)}` : ""}`);
    return { ...base, local: dest, status, receivedBytes: result.receivedBytes, resumedFrom: result.resumedFrom };
  };

  let next = 0;
  let stopAll: unknown = null;
  const lane = async () => {
    while (stopAll === null && next < jobs.length) {
      const job = jobs[next++]!;
      const bar = progress.file(job.remote, job.entry.size ?? 0);
      try {
        outcomes.push(await downloadOne(job, bar));
      } catch (e) {
        const error = failure(e);
        bar.fail(error.message);
        outcomes.push({ path: job.remote, local: job.local, status: "failed", size: job.entry.size ?? 0, sha256: job.entry.sha256, receivedBytes: 0, resumedFrom: 0, error });
        if (e instanceof FilestoreError && (e.code === "UNAUTHORIZED" || e.code === "NETWORK")) stopAll = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, jobs.length) }, lane));
  if (stopAll !== null) throw stopAll;
  return outcomes;
}
