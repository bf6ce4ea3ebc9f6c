import { ListPartsCommand } from "@aws-sdk/client-s3";
import { connect } from "amqplib";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useIsolatedRun } from "../helpers/isolated-run";
import { spawnTsx, type Spawned } from "../helpers/processes";
import { startSlowProxy } from "../helpers/slow-proxy";
import { bucketContents, cephBucket, rawS3Client } from "../helpers/transfer-targets";

// The worker as real processes against the real broker, a real Ceph RGW and this file's own
// database: kill -9 in the middle of a multipart transfer, a target that refuses every write, poison
// messages, a file purged while its blob is being moved. Each test checks the end state on both
// tiers (nothing lost, nothing orphaned) and that downloads never failed meanwhile.

const MiB = 1024 * 1024;
const target = await cephBucket();
const denying = await cephBucket({ denyWrites: true });
const proxy = await startSlowProxy(target.env.S3_ENDPOINT!);
const run = await useIsolatedRun("xfault", {
  STORAGE_DRIVER: "local",
  TRANSFER_TARGET: "s3",
  ...target.env,
  S3_ENDPOINT: proxy.endpoint,
  TRANSFER_PART_BYTES: String(5 * MiB),
  TRANSFER_PART_CONCURRENCY: "2",
  TRANSFER_GRACE_SECONDS: "2",
  // Long enough that a heartbeat delayed by a loaded machine does not lose the lease by itself.
  JOB_LEASE_SECONDS: "10",
  JOB_RETRY_DELAYS: "300ms,600ms",
  JOB_MAX_ATTEMPTS: "3",
});

const { db } = await import("~/server/db/client");
const { startHttpServer } = await import("../helpers/http-server");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { patternBytes, postFiles, sha256hex } = await import("../helpers/upload-client");
type TestUser = Awaited<ReturnType<typeof createTestUser>>;

const s3 = rawS3Client();
let http: Awaited<ReturnType<typeof startHttpServer>>;
const workers: Spawned[] = [];

function startWorker(env: Record<string, string> = {}): Spawned {
  const w = spawnTsx("src/worker/main.ts", { ...run.env, S3_ENDPOINT: proxy.endpoint, ...env });
  workers.push(w);
  return w;
}

async function waitUntil<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, worker?: Spawned): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${worker ? `\n--- worker output ---\n${worker.output().slice(-4000)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function upload(user: TestUser, name: string, data: Buffer) {
  const res = await postFiles(http.baseUrl, user.authHeaders, [{ name, data }]);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const entry = res.json.files[0];
  const row = await db.$primary().entry.findUniqueOrThrow({ where: { id: entry.id }, include: { blob: true } });
  const job = await db.$primary().transferOutbox.findFirstOrThrow({ where: { kind: "blob.transfer.v1", subject: row.blob!.id } });
  return { entry, blob: row.blob!, job };
}

/** Downloads the file over and over until stopped; every answer must be 200 with the right bytes. */
function keepDownloading(user: TestUser, id: string, sha256: string) {
  let stop = false;
  const stats = { ok: 0, failures: [] as string[] };
  const loop = (async () => {
    while (!stop) {
      try {
        const res = await fetch(`${http.baseUrl}/api/files/${id}/content`, { headers: user.authHeaders });
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200) stats.failures.push(`HTTP ${res.status}: ${body.toString().slice(0, 200)}`);
        else if (sha256hex(body) !== sha256) stats.failures.push("wrong bytes");
        else stats.ok++;
      } catch (e) {
        stats.failures.push(String(e));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stats,
    stop: async () => {
      stop = true;
      await loop;
      return stats;
    },
  };
}

const jobRow = (id: bigint) => db.$primary().transferOutbox.findUniqueOrThrow({ where: { id } });
const localExists = (key: string) => spawnSync("test", ["-f", `${run.storageDir}/objects/${key}`]).status === 0;

beforeAll(async () => {
  http = await startHttpServer();
  http.server.keepAliveTimeout = 120_000;
});

afterAll(async () => {
  for (const w of workers) await w.stop("SIGKILL");
  await deleteCreatedTestUsers();
  await http?.close();
  await proxy.close();
  s3.destroy();
}, 120_000);

describe("transfer worker under faults (local → Ceph RGW)", () => {
  it("kill -9 in the middle of a multipart transfer: after a restart the blob is on the target once, intact; downloads never failed", async () => {
    const user = await createTestUser();
    const data = patternBytes(40 * MiB + 4321, 2001);
    const { entry, blob, job } = await upload(user, "killed.bin", data);
    const downloads = keepDownloading(user, entry.id, sha256hex(data));

    proxy.delayMs = 400; // every request to RGW waits: the 9 parts take seconds
    const first = startWorker();
    const checkpoint = await waitUntil("the transfer's multipart upload", async () => (await jobRow(job.id)).checkpoint as { uploadId: string } | null, 60_000, first);
    await waitUntil(
      "a stored part",
      async () => {
        const parts = await s3.send(new ListPartsCommand({ Bucket: target.bucket, Key: blob.storageKey, UploadId: checkpoint.uploadId })).catch(() => null);
        return (parts?.Parts?.length ?? 0) >= 1;
      },
      60_000,
      first,
    );
    expect((await jobRow(job.id)).state).toBe("running");
    await first.stop("SIGKILL");
    proxy.delayMs = 0;

    const second = startWorker();
    await waitUntil("the transfer to be done", async () => (await jobRow(job.id)).state === "done", 240_000, second);
    const moved = await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } });
    expect(moved.driver).toBe("s3");
    expect((await jobRow(job.id)).attempts).toBe(2);
    // Exactly one object for it on the target, and the dead worker's multipart upload is gone.
    const contents = await bucketContents(s3, target.bucket);
    expect(contents.objects.filter((o) => o.key === blob.storageKey)).toEqual([{ key: blob.storageKey, size: data.length }]);
    expect(contents.uploads).toEqual([]);
    // After the grace period the source copy goes; downloads kept working throughout.
    await waitUntil("the source copy to be deleted", async () => !localExists(blob.storageKey), 30_000, second);
    const stats = await downloads.stop();
    expect(stats.failures).toEqual([]);
    expect(stats.ok).toBeGreaterThan(5);
    const res = await fetch(`${http.baseUrl}/api/files/${entry.id}/content`, { headers: user.authHeaders });
    expect(sha256hex(Buffer.from(await res.arrayBuffer()))).toBe(sha256hex(data));
  }, 240_000);

  it("a file purged while its blob is being moved leaves no object on either tier", async () => {
    const user = await createTestUser();
    const data = patternBytes(30 * MiB + 99, 2002);
    const { entry, blob, job } = await upload(user, "purged.bin", data);
    proxy.delayMs = 300;
    const worker = workers.at(-1)!;
    await waitUntil("the transfer to start", async () => (await jobRow(job.id)).checkpoint, 60_000, worker);
    await user.caller.file.delete({ ids: [entry.id] });
    await user.caller.trash.purge({ ids: [entry.id] });
    await waitUntil("the transfer job to settle", async () => ["done", "failed"].includes((await jobRow(job.id)).state), 120_000, worker);
    proxy.delayMs = 0;
    await waitUntil("the blob to be collected", async () => (await db.$primary().blob.findUnique({ where: { id: blob.id } })) === null, 60_000, worker);
    expect((await jobRow(job.id)).state).toBe("done");
    const contents = await bucketContents(s3, target.bucket);
    expect(contents.objects.map((o) => o.key)).not.toContain(blob.storageKey);
    expect(contents.uploads).toEqual([]);
    await waitUntil("no source copy", async () => !localExists(blob.storageKey), 30_000, worker);
  }, 240_000);

  it("poison messages go straight to the dead letters with their reason, and the worker keeps going", async () => {
    const worker = workers.at(-1)!;
    const conn = await connect(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createConfirmChannel();
    try {
      const poison = [
        Buffer.from("not json at all"),
        Buffer.from(JSON.stringify({ id: "999999999", kind: "no.such.job.v1", payload: {} })),
        Buffer.from(JSON.stringify({ id: "999999998", kind: "blob.transfer.v1", payload: { blobId: 42 } })),
      ];
      for (const content of poison) ch.publish(`${run.amqpPrefix}.work`, "poison", content, { persistent: true });
      await ch.waitForConfirms();
      const dead: Array<{ reason: string }> = [];
      await waitUntil(
        "three dead letters",
        async () => {
          const msg = await ch.get(`${run.amqpPrefix}.jobs.dead`, { noAck: true });
          if (msg) dead.push({ reason: String(msg.properties.headers?.["x-filestore-error"]) });
          return dead.length >= 3;
        },
        30_000,
        worker,
      );
      expect(dead.map((d) => d.reason).sort()).toEqual([
        expect.stringMatching(/malformed payload: blobId/),
        expect.stringMatching(/not JSON/),
        expect.stringMatching(/unknown job kind "no\.such\.job\.v1"/),
      ]);
    } finally {
      await conn.close();
    }
    // Still working: a new upload is moved.
    const user = await createTestUser();
    const data = patternBytes(64_000, 2003);
    const { blob, job } = await upload(user, "after-poison.bin", data);
    await waitUntil("the next transfer", async () => (await jobRow(job.id)).state === "done", 60_000, worker);
    expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).driver).toBe("s3");
  }, 120_000);

  it("a target that refuses every write: retries with growing delays, then a dead letter with the reason; the file is still served from the source", async () => {
    for (const w of workers) await w.stop("SIGTERM");
    const worker = startWorker({ S3_BUCKET: denying.bucket, S3_ENDPOINT: target.env.S3_ENDPOINT! });
    await worker.waitFor(/consuming /);
    const user = await createTestUser();
    const data = patternBytes(7 * MiB, 2004);
    const { entry, blob, job } = await upload(user, "refused.bin", data);
    const row = await waitUntil("the job to be dead", async () => {
      const r = await jobRow(job.id);
      return r.state === "failed" ? r : null;
    }, 240_000, worker);
    expect(row.attempts).toBe(3);
    expect(row.lastError).toMatch(/gave up after 3 attempts: .*AccessDenied/);
    expect(worker.output()).toMatch(/attempt 1\/3\), retrying in 0\.3 s/);
    expect(worker.output()).toMatch(/attempt 2\/3\), retrying in 0\.6 s/);
    expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).driver).toBe("local");
    const res = await fetch(`${http.baseUrl}/api/files/${entry.id}/content`, { headers: user.authHeaders });
    expect(res.status).toBe(200);
    expect(sha256hex(Buffer.from(await res.arrayBuffer()))).toBe(sha256hex(data));
    expect((await bucketContents(s3, denying.bucket)).uploads).toEqual([]);

    // The operator sees it, fixes the target (here: a worker with a bucket that takes writes), and retries.
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "scripts/transfer.ts", ...args], { env: { ...process.env, ...run.env, S3_ENDPOINT: proxy.endpoint }, encoding: "utf8", timeout: 180_000 });
    const shown = cli(["status"]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/blob\.transfer\.v1\s+dead\s+1/);
    expect(shown.stdout).toContain(`(${blob.id})`);
    expect(shown.stdout).toMatch(/AccessDenied/);
    expect(shown.stdout).toMatch(/local\s+ready/);
    await worker.stop("SIGTERM");
    const good = startWorker();
    await good.waitFor(/consuming /);
    const retried = cli(["retry-dead"]);
    expect(retried.status, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/^1 dead job\(s\) queued again; 1 removed from the dead-letter queue/);
    await waitUntil("the retried transfer", async () => (await jobRow(job.id)).state === "done", 180_000, good);
    expect((await db.$primary().blob.findUniqueOrThrow({ where: { id: blob.id } })).driver).toBe("s3");
  }, 600_000);
});
