// The transfers panel's state, outside React: one row per file and per folder of every upload the
// page runs. Rows are immutable objects replaced on change (so a row component re-renders only
// when its row changed), folders carry running totals of everything inside them, and subscribers
// are told at most every EMIT_MS, so thousands of small files finishing at once cost a few renders
// a second, not one per file.

export type TransferState = "queued" | "hashing" | "uploading" | "paused" | "offline" | "finishing" | "done" | "error" | "cancelled";

/** Work is left to do (leaving the page warns, cancel applies). */
export const unfinishedStates: ReadonlySet<TransferState> = new Set(["queued", "hashing", "uploading", "paused", "offline", "finishing"]);
/** Holding one of the uploader's slots right now. */
export const runningStates: ReadonlySet<TransferState> = new Set(["hashing", "uploading", "finishing"]);

export interface TransferRow {
  key: string;
  kind: "file" | "folder";
  name: string;
  /** The folder row this row is in; null at the top of the panel. */
  parentKey: string | null;
  depth: number;
  /** Bytes (a folder: of every file inside it). */
  size: number;
  /** Bytes the server holds (received chunks plus the progress of chunks in flight). */
  loaded: number;
  /** Bytes hashed so far. */
  hashed: number;
  state: TransferState;
  error?: string;
  /** Bytes this page actually sent; 0 at the end means the upload was instant. */
  bytesSent: number;
  /** Finished by 秒传 (the server already held the content). */
  instant?: boolean;
  /** The SHA-256 the page computed (lowercase hex). */
  sha256?: string;
  uploadId?: string;
  /** Chunks the server already had when this upload started (a resumed session). */
  resumedChunks?: number;
  /** Bytes per second over the last few seconds, while running. */
  speed: number;
  /** Seconds left at that speed; null when unknown. */
  eta: number | null;
  /** Folders: files inside (at any depth), and how many of them are done. */
  files: number;
  filesDone: number;
  /** The drive entry: the folder created, or the file once uploaded. */
  entryId?: string;
}

const EMIT_MS = 200;
/** Speed is measured over this window. */
const SPEED_WINDOW_MS = 5_000;

type Counts = Map<TransferState, number>;

export class TransferStore {
  private readonly rows = new Map<string, TransferRow>();
  private readonly childKeys = new Map<string | null, string[]>();
  /** Per folder: how many files inside it are in each state. */
  private readonly counts = new Map<string, Counts>();
  /** Per folder: creation failed (its message), shown instead of the totals. */
  private readonly folderErrors = new Map<string, string>();
  private readonly samples = new Map<string, Array<[number, number]>>();
  private readonly listeners = new Set<() => void>();
  private version = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  get(key: string): TransferRow | undefined {
    return this.rows.get(key);
  }

  children(key: string | null): readonly string[] {
    return this.childKeys.get(key) ?? [];
  }

  /** Every row, parents before children. */
  all(): TransferRow[] {
    const out: TransferRow[] = [];
    const walk = (parent: string | null) => {
      for (const key of this.children(parent)) {
        const row = this.rows.get(key)!;
        out.push(row);
        if (row.kind === "folder") walk(key);
      }
    };
    walk(null);
    return out;
  }

  /** The chain of folder keys above a row, nearest first. */
  private ancestors(row: TransferRow): string[] {
    const out: string[] = [];
    for (let key = row.parentKey; key !== null; key = this.rows.get(key)?.parentKey ?? null) out.push(key);
    return out;
  }

  /** Adds rows; a folder must come before the rows inside it. */
  add(rows: TransferRow[]): void {
    for (const row of rows) {
      this.rows.set(row.key, row);
      const siblings = this.childKeys.get(row.parentKey) ?? [];
      siblings.push(row.key);
      this.childKeys.set(row.parentKey, siblings);
      if (row.kind === "folder") {
        this.counts.set(row.key, new Map());
        continue;
      }
      for (const folder of this.ancestors(row)) {
        const f = this.rows.get(folder)!;
        this.rows.set(folder, { ...f, size: f.size + row.size, loaded: f.loaded + row.loaded, files: f.files + 1 });
        this.bump(folder, row.state, 1);
      }
    }
    for (const row of rows) if (row.kind === "folder") this.refreshFolder(row.key);
    this.schedule();
  }

  private bump(folder: string, state: TransferState, by: number): void {
    const counts = this.counts.get(folder)!;
    counts.set(state, (counts.get(state) ?? 0) + by);
  }

  /** A folder's state from what is inside it (and its own creation). */
  private refreshFolder(key: string): void {
    const row = this.rows.get(key)!;
    const counts = this.counts.get(key)!;
    const n = (s: TransferState) => counts.get(s) ?? 0;
    const running = n("hashing") + n("uploading") + n("finishing");
    const error = this.folderErrors.get(key);
    let state: TransferState;
    if (error !== undefined) state = "error";
    else if (running > 0) state = "uploading";
    else if (n("offline") > 0) state = "offline";
    else if (n("queued") > 0) state = "queued";
    else if (n("paused") > 0) state = "paused";
    else if (n("error") > 0) state = "error";
    else if (n("done") > 0 || row.files === 0) state = row.entryId || row.files > 0 ? "done" : "queued";
    else state = "cancelled";
    const failed = n("error");
    const next: TransferRow = {
      ...row,
      state,
      filesDone: n("done"),
      error: error ?? (state === "error" ? `${failed} ${failed === 1 ? "file" : "files"} failed` : undefined),
    };
    if (next.state !== row.state || next.filesDone !== row.filesDone || next.error !== row.error) this.rows.set(key, next);
  }

  patch(key: string, patch: Partial<TransferRow>): void {
    const row = this.rows.get(key);
    if (!row) return;
    const next = { ...row, ...patch };
    this.rows.set(key, next);
    if (row.kind === "file") {
      const loadedDelta = next.loaded - row.loaded;
      const stateChanged = next.state !== row.state;
      if (loadedDelta !== 0 || stateChanged) {
        for (const folder of this.ancestors(row)) {
          if (loadedDelta !== 0) {
            const f = this.rows.get(folder)!;
            this.rows.set(folder, { ...f, loaded: f.loaded + loadedDelta });
          }
          if (stateChanged) {
            this.bump(folder, row.state, -1);
            this.bump(folder, next.state, 1);
            this.refreshFolder(folder);
          }
        }
      }
      if (loadedDelta !== 0) this.sample(key, next.loaded);
      if (stateChanged && !runningStates.has(next.state)) this.samples.delete(key);
    }
    this.schedule();
  }

  /** A folder's own creation: done (its entry id), failed (a message) or retried (undefined). */
  folderCreated(key: string, outcome: { entryId: string } | { error: string } | null): void {
    const row = this.rows.get(key);
    if (!row) return;
    if (outcome && "entryId" in outcome) {
      this.folderErrors.delete(key);
      this.rows.set(key, { ...row, entryId: outcome.entryId });
    } else if (outcome) this.folderErrors.set(key, outcome.error);
    else this.folderErrors.delete(key);
    this.refreshFolder(key);
    this.schedule();
  }

  private sample(key: string, loaded: number): void {
    const now = performance.now();
    const list = this.samples.get(key) ?? [];
    list.push([now, loaded]);
    // Keep one sample older than the window, so the window is always spanned.
    while (list.length > 2 && now - list[1]![0] > SPEED_WINDOW_MS) list.shift();
    this.samples.set(key, list);
  }

  private speedOf(key: string): number {
    const list = this.samples.get(key);
    if (!list || list.length < 2) return 0;
    const [t0, b0] = list[0]!;
    const [t1, b1] = list[list.length - 1]!;
    // A transfer that stalled has no speed, however fast it was before.
    if (performance.now() - t1 > SPEED_WINDOW_MS) return 0;
    return t1 > t0 ? ((b1 - b0) / (t1 - t0)) * 1000 : 0;
  }

  /** Drops finished rows (done or cancelled, whole folders only when everything in them is). */
  clearFinished(): void {
    const finished = (key: string): boolean => {
      const row = this.rows.get(key)!;
      if (row.kind === "folder") return this.children(key).every(finished) && (row.state === "done" || row.state === "cancelled");
      return row.state === "done" || row.state === "cancelled";
    };
    const drop = (key: string) => {
      for (const child of this.children(key)) drop(child);
      this.rows.delete(key);
      this.childKeys.delete(key);
      this.counts.delete(key);
      this.folderErrors.delete(key);
      this.samples.delete(key);
    };
    const top = this.children(null).filter((key) => {
      if (!finished(key)) return true;
      drop(key);
      return false;
    });
    this.childKeys.set(null, top);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.emit(), EMIT_MS);
  }

  /** Speeds and times left, then one notification for everything since the last. */
  private emit(): void {
    this.timer = null;
    const folderSpeed = new Map<string, number>();
    let moving = false;
    for (const [key, row] of this.rows) {
      if (row.kind !== "file") continue;
      const speed = runningStates.has(row.state) ? this.speedOf(key) : 0;
      if (speed > 0) {
        moving = true;
        for (const folder of this.ancestors(row)) folderSpeed.set(folder, (folderSpeed.get(folder) ?? 0) + speed);
      }
      this.setSpeed(row, speed);
    }
    for (const [key, row] of this.rows) if (row.kind === "folder") this.setSpeed(row, folderSpeed.get(key) ?? 0);
    this.version++;
    for (const listener of this.listeners) listener();
    // Keep the speeds current while bytes move, even between progress events.
    if (moving) this.schedule();
  }

  private setSpeed(row: TransferRow, speed: number): void {
    const left = row.size - row.loaded;
    const eta = speed > 0 ? Math.ceil(left / speed) : null;
    if (Math.abs(row.speed - speed) < 1 && row.eta === eta) return;
    this.rows.set(row.key, { ...row, speed, eta });
  }
}
