import { errorCode, errorMessage } from "../errors";
import { formatBytes } from "../format";
import { ChunkError, abortError, contentDigest, isAbort, putChunk } from "./chunk-put";
import { ChunkSizer } from "./chunk-size";
import { UPLOAD_TOKEN_HEADER, type UploadClient } from "./client";
import type { HashPool } from "./hash-pool";
import { Network, OfflineError } from "./network";
import { TransferStore, type TransferRow } from "./store";
import type { PickedTree } from "./tree";

// The page's uploads (API.md "Upload sessions"), one job per file:
//
//   hash (SHA-256 in a Web Worker) → upload.init → 秒传 (upload.prove, no byte sent) or chunk PUTs →
//   upload.complete → the server's SHA-256 checked against the page's.
//
// How much is hashed before anything is sent depends on the size:
// - under INSTANT_MIN_BYTES: hashed, then sent as one chunk with a Content-Digest the server checks;
//   no 秒传 (it would save one small request, and each hash announced at init counts against the
//   server's per-user probe budget, which a folder of small files would use up);
// - up to EAGER_MIN_BYTES: hashed first (a fraction of a second), then init announces the hash;
// - bigger: chunks start at once while the worker hashes; when the hash is known and chunks are left,
//   a second init asks whether the server holds that content, and if so 秒传 takes over (the chunks
//   sent so far are dropped with their session). The user never waits for the hash and then again
//   for the bytes.
//
// Jobs can be paused, resumed, retried and cancelled one by one or all at once; a resumed job
// continues its session (upload.status) where the server left it. When the network goes away, every
// running job stops and waits ("offline") and they all continue when it is back. Every upload gets a
// grant at init (X-Upload-Token) so it finishes even if the sign-in expires meanwhile. Folders
// (picked or dropped trees) are created as their files need them, parents first.

const MiB = 1024 * 1024;
const INSTANT_MIN_BYTES = 1 * MiB;
const EAGER_MIN_BYTES = 32 * MiB;
/** Files uploading at once. */
const PARALLEL_FILES = 4;
/** Chunk requests in flight for one file, and for the whole page (browsers allow 6 connections per host). */
const PARALLEL_CHUNKS = 3;
const PARALLEL_REQUESTS = 6;
/** Folders being created at once. */
const PARALLEL_MKDIR = 4;
/** Attempts per chunk before the file fails (network losses do not count: those wait for the network). */
const CHUNK_ATTEMPTS = 5;
/** The listing and the quota are refreshed at most this often while uploads finish. */
const REFRESH_MS = 1_000;

/** A failure whose message is meant for the user. */
class UploadFailure extends Error {}

type StopReason = "pause" | "cancel" | "offline";

interface FileJob {
  key: string;
  file: File;
  /** The folder row it goes into, or null for a loose file (it goes into `targetId`). */
  folderKey: string | null;
  targetId: string | null;
  controller: AbortController | null;
  stop: StopReason | null;
  sha256?: string;
  /** The session bytes go into, once opened. */
  uploadId?: string;
}

interface FolderJob {
  key: string;
  name: string;
  parentKey: string | null;
  targetId: string | null;
  created: Promise<string> | null;
  cancelled: boolean;
}

/** A counting semaphore: at most `limit` holders. */
class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async take(signal?: AbortSignal): Promise<() => void> {
    if (this.used >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortError());
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(wake);
      });
    } else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A tRPC call that failed without an answer (no network, server unreachable). */
const isNetworkFailure = (e: unknown) => errorCode(e) === null && !isAbort(e) && (e instanceof TypeError || (e as Error)?.name === "TRPCClientError");

function chunkErrorMessage(e: ChunkError): string {
  switch (e.code ?? "") {
    case "PAYLOAD_TOO_LARGE":
      return "Not enough space in your drive.";
    case "UNAUTHORIZED":
      return "You have been signed out. Sign in again, then retry.";
    case "NOT_FOUND":
      return "The upload session expired or was cancelled. Retry to start it again.";
    case "TOO_MANY_REQUESTS":
      return "The server is busy. Try again in a moment.";
  }
  if (e.status === 0) return "Network error: check your connection, then retry to resume.";
  if (e.status === 413) return "The server refused a chunk as too large (is a proxy limiting request bodies?).";
  return `The server refused a chunk: ${e.message}`;
}

let nextKey = 0;
const newKey = () => `t${++nextKey}`;

export interface UploaderOptions {
  client: UploadClient;
  /** uploadId → grant, read by the client's link for every call about that upload. */
  grants: Map<string, string>;
  hashPool: HashPool;
  /** Something new is in the drive (the listing and the quota should follow). */
  onCommitted: () => void;
}

export class Uploader {
  readonly store = new TransferStore();
  readonly network: Network;
  private readonly jobs = new Map<string, FileJob>();
  private readonly folders = new Map<string, FolderJob>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly requests = new Slots(PARALLEL_REQUESTS);
  private readonly mkdirs = new Slots(PARALLEL_MKDIR);
  readonly sizer = new ChunkSizer();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: UploaderOptions) {
    this.network = new Network(
      () => this.wentOffline(),
      () => this.cameBack(),
    );
  }

  dispose(): void {
    this.network.dispose();
    for (const job of this.jobs.values()) job.controller?.abort();
    this.opts.hashPool.terminate();
  }

  // --- adding ---------------------------------------------------------------------------------

  /** Loose files into a drive folder. */
  addFiles(files: readonly File[], targetId: string | null): void {
    this.addTree({ files: files.map((file) => ({ file, dir: [] })), folders: [] }, targetId);
  }

  /** A picked or dropped tree into a drive folder: one row per folder and per file. */
  addTree(tree: PickedTree, targetId: string | null): void {
    const rows: TransferRow[] = [];
    const folderKeys = new Map<string, string>();
    const base = { loaded: 0, hashed: 0, bytesSent: 0, speed: 0, eta: null, files: 0, filesDone: 0 } as const;
    for (const path of tree.folders) {
      const key = newKey();
      const parentKey = path.length > 1 ? (folderKeys.get(path.slice(0, -1).join("/")) ?? null) : null;
      folderKeys.set(path.join("/"), key);
      const name = path[path.length - 1]!;
      this.folders.set(key, { key, name, parentKey, targetId, created: null, cancelled: false });
      rows.push({ ...base, key, kind: "folder", name, parentKey, depth: path.length - 1, size: 0, state: "queued" });
    }
    for (const { file, dir } of tree.files) {
      const key = newKey();
      const folderKey = dir.length > 0 ? (folderKeys.get(dir.join("/")) ?? null) : null;
      this.jobs.set(key, { key, file, folderKey, targetId, controller: null, stop: null });
      rows.push({ ...base, key, kind: "file", name: file.name, parentKey: folderKey, depth: dir.length, size: file.size, state: "queued" });
      this.queue.push(key);
    }
    this.store.add(rows);
    // Folders exist in the drive even when empty; files wait for theirs (see folderIdOf).
    for (const key of folderKeys.values()) void this.ensureFolder(key).catch(() => undefined);
    this.pump();
  }

  // --- controls -------------------------------------------------------------------------------

  /** The file rows at or under `key` (a file row is its own only one). */
  private filesUnder(key: string): FileJob[] {
    const job = this.jobs.get(key);
    if (job) return [job];
    return this.store.children(key).flatMap((child) => this.filesUnder(child));
  }

  pause(key: string): void {
    for (const job of this.filesUnder(key)) this.pauseJob(job);
  }

  resume(key: string): void {
    for (const job of this.filesUnder(key)) if (this.store.get(job.key)?.state === "paused") this.requeue(job);
    this.pump();
  }

  retry(key: string): void {
    const folder = this.folders.get(key);
    if (folder) this.retryFolder(folder);
    for (const job of this.filesUnder(key)) if (this.store.get(job.key)?.state === "error") this.requeue(job);
    this.pump();
  }

  cancel(key: string): void {
    const folder = this.folders.get(key);
    if (folder) this.cancelFolder(folder);
    for (const job of this.filesUnder(key)) this.cancelJob(job);
  }

  pauseAll(): void {
    for (const job of this.jobs.values()) this.pauseJob(job);
  }

  resumeAll(): void {
    for (const job of this.jobs.values()) if (this.store.get(job.key)?.state === "paused") this.requeue(job);
    this.pump();
  }

  clearFinished(): void {
    this.store.clearFinished();
    for (const key of [...this.jobs.keys()]) if (!this.store.get(key)) this.jobs.delete(key);
    for (const key of [...this.folders.keys()]) if (!this.store.get(key)) this.folders.delete(key);
  }

  private pauseJob(job: FileJob): void {
    const state = this.store.get(job.key)?.state;
    if (state === "queued" || state === "offline") this.store.patch(job.key, { state: "paused", error: undefined });
    else if (state === "hashing" || state === "uploading" || state === "finishing") this.stopJob(job, "pause");
  }

  private cancelJob(job: FileJob): void {
    const state = this.store.get(job.key)?.state;
    if (state === undefined || state === "done" || state === "cancelled") return;
    if (job.controller && !job.controller.signal.aborted) this.stopJob(job, "cancel");
    else {
      this.store.patch(job.key, { state: "cancelled", error: undefined });
      this.dropSession(job);
    }
  }

  private stopJob(job: FileJob, reason: StopReason): void {
    job.stop = reason;
    job.controller?.abort();
  }

  private requeue(job: FileJob): void {
    job.stop = null;
    this.store.patch(job.key, { state: "queued", error: undefined });
    this.queue.push(job.key);
  }

  /** Frees the space an abandoned session reserved, and its stored chunks, now rather than at expiry. */
  private dropSession(job: FileJob): void {
    const uploadId = job.uploadId;
    if (!uploadId) return;
    job.uploadId = undefined;
    void this.opts.client.upload.abort
      .mutate({ uploadId })
      .catch(() => undefined)
      .finally(() => {
        this.opts.grants.delete(uploadId);
        this.refreshSoon();
      });
  }

  // --- network --------------------------------------------------------------------------------

  private wentOffline(): void {
    for (const job of this.jobs.values()) {
      const state = this.store.get(job.key)?.state;
      if (state === "queued") this.store.patch(job.key, { state: "offline" });
      else if (state === "hashing" || state === "uploading" || state === "finishing") this.stopJob(job, "offline");
    }
  }

  private cameBack(): void {
    for (const job of this.jobs.values()) {
      if (this.store.get(job.key)?.state !== "offline") continue;
      this.requeue(job);
    }
    // Folders whose creation the outage interrupted (empty ones have no file to ask for them).
    for (const folder of this.folders.values()) {
      const row = this.store.get(folder.key);
      if (row && !row.entryId && !folder.created && !folder.cancelled && row.state !== "error") void this.ensureFolder(folder.key).catch(() => undefined);
    }
    this.pump();
  }

  // --- folders --------------------------------------------------------------------------------

  /** Creates a folder row's folder once (parents first); a clash at the top gets "name (1)", as files do. */
  private ensureFolder(key: string): Promise<string> {
    const folder = this.folders.get(key)!;
    folder.created ??= (async () => {
      const parentId = folder.parentKey ? await this.ensureFolder(folder.parentKey) : folder.targetId;
      if (folder.cancelled) throw abortError();
      const release = await this.mkdirs.take();
      try {
        for (let n = 0; ; n++) {
          const name = n === 0 ? folder.name : `${folder.name} (${n})`;
          try {
            const entry = await this.opts.client.file.mkdir.mutate({ parentId, name });
            if (n > 0) this.store.patch(key, { name });
            this.store.folderCreated(key, { entryId: entry.id });
            this.refreshSoon();
            return entry.id;
          } catch (e) {
            if (errorCode(e) === "CONFLICT" && n < 100) continue;
            throw e;
          }
        }
      } finally {
        release();
      }
    })().catch((e: unknown) => {
      folder.created = null;
      if (isNetworkFailure(e)) {
        this.network.suspect();
        throw new OfflineError();
      }
      if (!isAbort(e) && !(e instanceof OfflineError)) {
        this.store.folderCreated(key, {
          error: errorMessage(e, { NOT_FOUND: "The folder it was going into no longer exists.", UNAUTHORIZED: "You have been signed out. Sign in again, then retry." }),
        });
      }
      throw e;
    });
    return folder.created;
  }

  private retryFolder(folder: FolderJob): void {
    for (let f: FolderJob | undefined = folder; f; f = f.parentKey ? this.folders.get(f.parentKey) : undefined) {
      if (!f.created) this.store.folderCreated(f.key, null);
    }
    void this.ensureFolder(folder.key).catch(() => undefined);
  }

  private cancelFolder(folder: FolderJob): void {
    folder.cancelled = true;
    for (const child of this.store.children(folder.key)) {
      const sub = this.folders.get(child);
      if (sub) this.cancelFolder(sub);
    }
  }

  private folderIdOf(job: FileJob): Promise<string | null> {
    return job.folderKey ? this.ensureFolder(job.folderKey) : Promise.resolve(job.targetId);
  }

  // --- running --------------------------------------------------------------------------------

  private pump(): void {
    while (this.running < PARALLEL_FILES && this.network.online) {
      const key = this.queue.shift();
      if (key === undefined) return;
      const job = this.jobs.get(key);
      if (!job || this.store.get(key)?.state !== "queued") continue;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(job: FileJob): Promise<void> {
    const controller = (job.controller = new AbortController());
    job.stop = null;
    const signal = controller.signal;
    this.store.patch(job.key, { state: "uploading", error: undefined });
    try {
      await this.upload(job, signal);
    } catch (e) {
      const stop = job.stop as StopReason | null;
      if (stop === "pause") this.store.patch(job.key, { state: "paused" });
      else if (stop === "cancel") {
        this.store.patch(job.key, { state: "cancelled" });
        this.dropSession(job);
      } else if (stop === "offline" || e instanceof OfflineError) {
        // Waits for the network; cameBack() queues it again.
        this.store.patch(job.key, { state: "offline" });
        if (this.network.online) this.network.suspect();
      } else this.store.patch(job.key, { state: "error", error: this.describe(e, job) });
    } finally {
      job.controller = null;
    }
  }

  private describe(e: unknown, job: FileJob): string {
    if (e instanceof ChunkError) return chunkErrorMessage(e);
    if (e instanceof UploadFailure) return e.message;
    if (isAbort(e)) return "Stopped.";
    if (job.folderKey && this.store.get(job.folderKey)?.state === "error" && !this.folders.get(job.folderKey)?.created) {
      return "Its folder could not be created.";
    }
    return errorMessage(e, {
      NOT_FOUND: "The folder no longer exists, or the upload expired.",
      PAYLOAD_TOO_LARGE: `Not enough space in your drive for “${job.file.name}” (${formatBytes(job.file.size)}).`,
      UNAUTHORIZED: "You have been signed out. Sign in again, then retry.",
      CONFLICT: "This upload is already being finished in another tab.",
    });
  }

  /** A tRPC call; a failure without an answer means the network (or the server) is gone. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isNetworkFailure(e)) throw new OfflineError();
      throw e;
    }
  }

  private async upload(job: FileJob, signal: AbortSignal): Promise<void> {
    const { file, key } = job;
    const parentId = await this.call(() => this.folderIdOf(job));
    signal.throwIfAborted();
    const eager = file.size >= EAGER_MIN_BYTES;

    if (job.sha256 === undefined && !eager) {
      this.store.patch(key, { state: "hashing", hashed: 0 });
      job.sha256 = await this.opts.hashPool.hashBlob(file, { signal, onProgress: (hashed) => this.store.patch(key, { hashed }) });
      this.store.patch(key, { state: "uploading", hashed: file.size, sha256: job.sha256 });
    }

    // Resume the session this job already has (after a pause or an error), else open one.
    let plan = job.uploadId ? await this.statusOf(job, signal) : null;
    if (!plan) {
      const announce = !eager && file.size >= INSTANT_MIN_BYTES ? job.sha256 : undefined;
      const opened = await this.open(job, parentId, announce, signal);
      if (opened.instant) {
        if (await this.prove(job, opened.uploadId, opened.instant, signal)) return this.finished(job, true);
        plan = await this.call(() => this.opts.client.upload.status.query({ uploadId: opened.uploadId }, { signal }));
      } else plan = opened.plan;
    }

    // Big files: the worker hashes while chunks go; 秒传 may still take over once the hash is known.
    let hashing: Promise<string> | null = null;
    if (job.sha256 === undefined) {
      this.store.patch(key, { hashed: 0 });
      hashing = this.opts.hashPool
        .hashBlob(file, { signal, onProgress: (hashed) => this.store.patch(key, { hashed }) })
        .then((sha256) => {
          job.sha256 = sha256;
          this.store.patch(key, { hashed: file.size, sha256 });
          return sha256;
        });
      hashing.catch(() => undefined);
    }

    const chunks = new AbortController();
    const stopChunks = () => chunks.abort();
    signal.addEventListener("abort", stopChunks, { once: true });
    try {
      let sending = this.sendChunks(job, plan, chunks.signal);
      sending.catch(() => undefined);
      if (hashing) {
        const first = await Promise.race([sending.then(() => "sent" as const), hashing.then(() => "hashed" as const)]);
        if (first === "hashed" && file.size >= INSTANT_MIN_BYTES) {
          const probe = await this.probe(job, parentId, signal);
          if (probe) {
            chunks.abort();
            await sending.catch(() => undefined);
            signal.throwIfAborted();
            if (await this.prove(job, probe.uploadId, probe.instant, signal)) {
              const chunked = job.uploadId;
              job.uploadId = probe.uploadId;
              if (chunked) {
                void this.opts.client.upload.abort.mutate({ uploadId: chunked }).catch(() => undefined);
              }
              return this.finished(job, true);
            }
            // Refused: the probe's session became an ordinary one we do not need.
            void this.opts.client.upload.abort.mutate({ uploadId: probe.uploadId }).catch(() => undefined);
            const again = new AbortController();
            signal.addEventListener("abort", () => again.abort(), { once: true });
            sending = this.sendChunks(job, await this.statusOf(job, signal).then((p) => p ?? plan), again.signal);
          }
        }
      }
      await sending;
    } finally {
      signal.removeEventListener("abort", stopChunks);
    }
    const sha256 = hashing ? await hashing : job.sha256;

    this.store.patch(key, { state: "finishing", loaded: file.size });
    const uploadId = job.uploadId!;
    let result;
    try {
      result = await this.call(() => this.opts.client.upload.complete.mutate({ uploadId }, { signal }));
    } catch (e) {
      // The bytes did not hash to what was announced at init: the file changed on disk meanwhile.
      if (errorCode(e) === "BAD_REQUEST") {
        job.uploadId = undefined;
        throw new UploadFailure("The file changed while it was being uploaded. Retry to upload it anew.");
      }
      throw e;
    }
    this.store.patch(key, { entryId: result.file.id });
    if (sha256 && result.file.sha256 && result.file.sha256 !== sha256) {
      // The server stored other bytes than the page hashed (the file changed while it was read).
      void this.opts.client.file.delete.mutate({ ids: [result.file.id] }).catch(() => undefined);
      job.uploadId = undefined;
      job.sha256 = undefined;
      throw new UploadFailure("The file changed while it was being uploaded; the copy was moved to the trash. Retry to upload it anew.");
    }
    this.finished(job, false);
  }

  private finished(job: FileJob, instant: boolean): void {
    const row = this.store.get(job.key)!;
    if (job.uploadId) this.opts.grants.delete(job.uploadId);
    this.store.patch(job.key, { state: "done", loaded: job.file.size, instant: instant || (row.bytesSent === 0 && job.file.size > 0) });
    this.refreshSoon();
  }

  private refreshSoon(): void {
    if (this.refreshTimer !== null) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.opts.onCommitted();
    }, REFRESH_MS);
  }

  private async statusOf(job: FileJob, signal: AbortSignal): Promise<SessionPlan | null> {
    try {
      const status = await this.call(() => this.opts.client.upload.status.query({ uploadId: job.uploadId! }, { signal }));
      if (status.state === "open") return status;
    } catch (e) {
      if (errorCode(e) !== "NOT_FOUND") throw e;
    }
    job.uploadId = undefined;
    return null;
  }

  /** upload.init; a throttled hash probe falls back to a plain session. */
  private async open(
    job: FileJob,
    parentId: string | null,
    sha256: string | undefined,
    signal: AbortSignal,
  ): Promise<{ uploadId: string; plan: SessionPlan; instant?: undefined } | { uploadId: string; instant: Challenge; plan?: undefined }> {
    const { file } = job;
    const wanted = { name: file.name, size: file.size, parentId, chunkSize: this.sizer.chunkSizeFor(file.size, PARALLEL_CHUNKS) };
    let init;
    try {
      init = await this.call(() => this.opts.client.upload.init.mutate({ ...wanted, sha256 }, { signal }));
    } catch (e) {
      if (!sha256 || errorCode(e) !== "TOO_MANY_REQUESTS") throw e;
      init = await this.call(() => this.opts.client.upload.init.mutate(wanted, { signal }));
    }
    job.uploadId = init.uploadId;
    if (init.uploadToken) this.opts.grants.set(init.uploadId, init.uploadToken);
    this.store.patch(job.key, { uploadId: init.uploadId });
    if ("instant" in init) return { uploadId: init.uploadId, instant: init.instant };
    return { uploadId: init.uploadId, plan: init };
  }

  /**
   * Asks whether the server already holds the content (an init that announces the hash) while the
   * chunks of a big file are going. The challenge when it does; null when it does not (the session
   * that init opened is dropped) or cannot say now (throttled, quota: the chunks go on).
   */
  private async probe(job: FileJob, parentId: string | null, signal: AbortSignal): Promise<{ uploadId: string; instant: Challenge } | null> {
    const { file } = job;
    let init;
    try {
      init = await this.call(() => this.opts.client.upload.init.mutate({ name: file.name, size: file.size, parentId, sha256: job.sha256 }, { signal }));
    } catch (e) {
      const code = errorCode(e);
      if (code === "TOO_MANY_REQUESTS" || code === "PAYLOAD_TOO_LARGE") return null;
      throw e;
    }
    if (init.uploadToken) this.opts.grants.set(init.uploadId, init.uploadToken);
    if ("instant" in init) return { uploadId: init.uploadId, instant: init.instant };
    if (init.uploadId !== job.uploadId) {
      const uploadId = init.uploadId;
      void this.opts.client.upload.abort
        .mutate({ uploadId })
        .catch(() => undefined)
        .finally(() => this.opts.grants.delete(uploadId));
    }
    return null;
  }

  /** Answers a 秒传 challenge; false when the server refused the proof (send the bytes instead). */
  private async prove(job: FileJob, uploadId: string, challenge: Challenge, signal: AbortSignal): Promise<boolean> {
    try {
      const proof = await this.opts.hashPool.hashRanges(job.file, challenge.ranges, signal);
      const { file } = await this.call(() => this.opts.client.upload.prove.mutate({ uploadId, challengeId: challenge.challengeId, proof }, { signal }));
      this.store.patch(job.key, { entryId: file.id });
      return true;
    } catch (e) {
      // A refused proof leaves an ordinary chunked session behind, and a throttled one an open
      // session that takes chunks all the same.
      const code = errorCode(e);
      if (code === "FORBIDDEN" || code === "TOO_MANY_REQUESTS") return false;
      throw e;
    }
  }

  /** PUTs every chunk the server does not hold yet, a few at a time, each retried with backoff. */
  private async sendChunks(job: FileJob, plan: SessionPlan, signal: AbortSignal): Promise<void> {
    const { file, key } = job;
    const uploadId = job.uploadId!;
    const { chunkSize, chunkCount } = plan;
    const lengthOf = (i: number) => Math.min(chunkSize, file.size - i * chunkSize);
    const have = new Set(plan.received);
    let held = [...have].reduce((sum, i) => sum + lengthOf(i), 0);
    const inFlight = new Map<number, number>();
    const report = () => this.store.patch(key, { loaded: held + [...inFlight.values()].reduce((a, b) => a + b, 0) });
    this.store.patch(key, { loaded: held, resumedChunks: have.size || undefined });
    const todo = Array.from({ length: chunkCount }, (_, i) => i).filter((i) => !have.has(i));
    const headersFor = (i: number): Record<string, string> => {
      const headers: Record<string, string> = {};
      const grant = this.opts.grants.get(uploadId);
      if (grant) headers[UPLOAD_TOKEN_HEADER] = grant;
      // One chunk is the whole file: the server checks it against the page's hash.
      if (chunkCount === 1 && job.sha256 && i === 0) headers["content-digest"] = contentDigest(job.sha256);
      return headers;
    };

    // One failed chunk fails the file: the other workers stop too, so a retry never races them.
    const all = new AbortController();
    const stopAll = () => all.abort();
    signal.addEventListener("abort", stopAll, { once: true });
    const worker = async () => {
      for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
        const body = file.slice(i * chunkSize, i * chunkSize + lengthOf(i));
        for (let attempt = 1; ; attempt++) {
          const release = await this.requests.take(all.signal);
          const started = performance.now();
          let sent = 0;
          try {
            await putChunk({
              uploadId,
              index: i,
              body,
              headers: headersFor(i),
              signal: all.signal,
              onProgress: (n) => {
                sent = n;
                inFlight.set(i, n);
                report();
              },
            });
            this.sizer.record(body.size, performance.now() - started);
            const row = this.store.get(key)!;
            this.store.patch(key, { bytesSent: row.bytesSent + body.size });
            break;
          } catch (e) {
            inFlight.delete(i);
            if (sent > 0) this.store.patch(key, { bytesSent: this.store.get(key)!.bytesSent + sent });
            if (!(e instanceof ChunkError)) throw e;
            if (e.status === 0 && !this.network.online) throw new OfflineError();
            if (!e.retryable) throw e;
            if (attempt >= CHUNK_ATTEMPTS) {
              // Out of attempts: a lost network waits for its return, anything else fails the file.
              if (e.status === 0 && !(await this.network.reachable())) throw new OfflineError();
              throw e;
            }
            await sleep(e.retryAfterMs ?? 500 * 2 ** (attempt - 1), all.signal);
          } finally {
            release();
          }
        }
        inFlight.delete(i);
        held += lengthOf(i);
        report();
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL_CHUNKS, todo.length) }, () =>
          worker().catch((e: unknown) => {
            all.abort();
            throw e;
          }),
        ),
      );
    } finally {
      signal.removeEventListener("abort", stopAll);
    }
  }
}

interface SessionPlan {
  chunkSize: number;
  chunkCount: number;
  received: number[];
}

interface Challenge {
  challengeId: string;
  ranges: Array<{ offset: number; length: number }>;
}
