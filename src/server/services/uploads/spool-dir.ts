import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

// Per-process temp directories for bytes held on local disk for a moment (the live hash's spool of
// chunks ahead of it, tus bodies without a Content-Length): <tmp>/<name>/<pid>-<random>.

const dirs = new Map<string, Promise<string>>();

/**
 * This process's spool directory under <tmp>/<name>, created on first use. Spools of processes that
 * died are useless: directories there older than a day are removed then. A failure is retried on
 * the next call.
 */
export function processSpoolDir(name: string): Promise<string> {
  let dir = dirs.get(name);
  if (!dir) {
    dir = (async () => {
      // turbopackIgnore: runtime paths, not files of the app; without it `next build` traces the whole project.
      const base = path.join(/*turbopackIgnore: true*/ os.tmpdir(), name);
      await mkdir(base, { recursive: true });
      for (const entry of await readdir(base).catch(() => [] as string[])) {
        const old = path.join(/*turbopackIgnore: true*/ base, entry);
        const st = await stat(old).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 24 * 3_600_000) await rm(old, { recursive: true, force: true });
      }
      const mine = path.join(/*turbopackIgnore: true*/ base, `${process.pid}-${randomBytes(4).toString("hex")}`);
      await mkdir(mine, { recursive: true });
      return mine;
    })().catch((e: unknown) => {
      dirs.delete(name);
      throw e;
    });
    dirs.set(name, dir);
  }
  return dir;
}
