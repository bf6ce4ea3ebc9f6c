import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { cliEnv } from "./env";

// The upload journal: a small local record, per local file, of what an interrupted `upload` had
// started, so a second run picks up where the first stopped. The server holds the truth (the
// session and the chunks it received, upload.pending); the journal adds what only this machine
// knows: which local file a session belongs to, and the file's SHA-256 (no hashing again), keyed by
// path, size, mtime and inode so a file that changed is never taken for the one journaled.
//
// One JSON line per record, appended (a crash, even kill -9, can at worst leave a torn last line,
// which is skipped); the last record of a key wins. Old records are compacted away on load.

export interface JournalRecord {
  /** server + user + local file identity + target (see journalKey) */
  key: string;
  sha256: string | null;
  uploadId: string | null;
  at: number;
}

const MAX_AGE_MS = 7 * 24 * 3600_000;
const file = () => path.join(cliEnv.stateDir, "uploads.jsonl");

export interface LocalIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export function journalKey(server: string, user: string, local: LocalIdentity, parentId: string | null, name: string): string {
  return JSON.stringify([server, user, local.path, local.size, Math.round(local.mtimeMs), local.ino, parentId ?? "", name]);
}

/** The hash cache's key: the local file alone. */
export function hashKey(local: LocalIdentity): string {
  return JSON.stringify(["sha256", local.path, local.size, Math.round(local.mtimeMs), local.ino]);
}

export class Journal {
  private constructor(private readonly records: Map<string, JournalRecord>) {}

  static async open(): Promise<Journal> {
    const records = new Map<string, JournalRecord>();
    let text = "";
    try {
      text = await readFile(file(), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    let lines = 0;
    const now = Date.now();
    for (const line of text.split("\n")) {
      if (!line) continue;
      lines++;
      try {
        const r = JSON.parse(line) as JournalRecord | { key: string; forget: true };
        if ("forget" in r) records.delete(r.key);
        else if (now - r.at < MAX_AGE_MS) records.set(r.key, r);
      } catch {
        // a torn line from a process killed mid-write
      }
    }
    const journal = new Journal(records);
    if (lines > records.size * 2 + 100) await journal.compact();
    return journal;
  }

  get(key: string): JournalRecord | undefined {
    return this.records.get(key);
  }

  async put(record: Omit<JournalRecord, "at">): Promise<void> {
    const full = { ...record, at: Date.now() };
    this.records.set(record.key, full);
    await this.append(JSON.stringify(full));
  }

  async forget(key: string): Promise<void> {
    if (!this.records.delete(key)) return;
    await this.append(JSON.stringify({ key, forget: true }));
  }

  private async append(line: string): Promise<void> {
    await mkdir(path.dirname(file()), { recursive: true, mode: 0o700 });
    await appendFile(file(), `${line}\n`, { mode: 0o600 });
  }

  /** Rewrites the file with the live records, unless another process holds it right now. */
  private async compact(): Promise<void> {
    let release: (() => Promise<void>) | null = null;
    try {
      release = await lockfile.lock(file(), { realpath: false, stale: 30_000 });
    } catch {
      return;
    }
    try {
      const tmp = `${file()}.${process.pid}.tmp`;
      await writeFile(tmp, [...this.records.values()].map((r) => `${JSON.stringify(r)}\n`).join(""), { mode: 0o600 });
      await rename(tmp, file());
    } finally {
      await release();
    }
  }
}
