import { lstat, opendir, stat } from "node:fs/promises";
import path from "node:path";
import type { LocalIdentity } from "../journal";

// Walking local sources for `upload`: files (symlinks to files followed), folders (symlinked
// folders skipped, which also rules out loops), in a stable order.

export interface LocalFile extends LocalIdentity {
  /** Folder segments under the upload's target folder. */
  folder: string[];
  name: string;
}

export interface LocalWalk {
  files: LocalFile[];
  /** Folder segment lists to create (parents before children), empty folders included. */
  folders: string[][];
  skipped: string[];
}

async function identity(file: string): Promise<LocalIdentity> {
  const st = await stat(file);
  return { path: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

export async function walkLocal(source: string, folder: string[], name: string, into: LocalWalk): Promise<void> {
  const lst = await lstat(source);
  let st = lst;
  if (lst.isSymbolicLink()) {
    st = await stat(source);
    if (st.isDirectory()) {
      into.skipped.push(`${source} (a symbolic link to a folder)`);
      return;
    }
  }
  if (st.isFile()) {
    into.files.push({ ...(await identity(source)), folder, name });
    return;
  }
  if (!st.isDirectory()) {
    into.skipped.push(`${source} (not a regular file)`);
    return;
  }
  const here = [...folder, name];
  into.folders.push(here);
  const entries: string[] = [];
  const dir = await opendir(source);
  for await (const entry of dir) entries.push(entry.name);
  entries.sort();
  for (const entry of entries) await walkLocal(path.join(source, entry), here, entry, into);
}
