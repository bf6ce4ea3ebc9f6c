import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useIsolatedRun } from "../helpers/isolated-run";
import { createOwnRabbit } from "../helpers/own-rabbitmq";
import { spawnTsx, type Spawned } from "../helpers/processes";
import { cephBucket } from "../helpers/transfer-targets";

// RabbitMQ stopped while uploads commit: on a broker of this test's own (the shared one is never
// stopped). Uploads and downloads keep working, /api/health stays 200 with the queue "degraded", the
// jobs wait in the outbox, the worker neither exits nor loses anything, and once the broker is back
// every job is delivered and done.

const rabbit = await createOwnRabbit("outage");
await rabbit.start();
const target = await cephBucket();
const run = await useIsolatedRun("xoutage", {
  AMQP_URL: rabbit.url,
  STORAGE_DRIVER: "local",
  TRANSFER_TARGET: "s3",
  ...target.env,
  TRANSFER_GRACE_SECONDS: "1",
  JOB_RETRY_DELAYS: "500ms,1s",
  JOB_LEASE_SECONDS: "5",
});

const { db } = await import("~/server/db/client");
const { closeQueue } = await import("~/server/queue/connection");
const { startHttpServer } = await import("../helpers/http-server");
const { createTestUser, deleteCreatedTestUsers } = await import("../helpers/users");
const { patternBytes, postFiles, sha256hex, sendChunk } = await import("../helpers/upload-client");

let http: Awaited<ReturnType<typeof startHttpServer>>;
let worker: Spawned;

async function waitUntil<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- worker ---\n${worker?.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  http = await startHttpServer();
  http.server.keepAliveTimeout = 120_000;
  worker = spawnTsx("src/worker/main.ts", run.env);
  await worker.waitFor(/consuming /, 60_000);
}, 120_000);

afterAll(async () => {
  await worker?.stop("SIGKILL");
  await deleteCreatedTestUsers();
  await closeQueue();
  await http?.close();
  await rabbit.destroy();
}, 120_000);

describe("a broker outage never takes the drive down", () => {
  it("uploads commit while RabbitMQ is stopped, the worker rides it out, and every job is delivered once it is back", async () => {
    const user = await createTestUser();
    const health = async () => {
      const res = await fetch(`${http.baseUrl}/api/health`);
      return { status: res.status, body: await res.json() };
    };
    expect((await health()).body.queue).toBe("ok");

    await rabbit.stop();
    await worker.waitFor(/lost the RabbitMQ connection|cannot reach RabbitMQ/, 30_000);
    const during = await health();
    expect(during.status).toBe(200);
    expect(during.body.queue).toMatch(/^degraded: /);

    // Uploads of every kind commit; downloads work; the jobs wait in the outbox.
    const files: Array<{ id: string; data: Buffer }> = [];
    for (let i = 0; i < 5; i++) {
      const data = patternBytes(100_000 + i * 1000, 3000 + i);
      const res = await postFiles(http.baseUrl, user.authHeaders, [{ name: `down-${i}.bin`, data }]);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      files.push({ id: res.json.files[0].id, data });
    }
    const chunked = patternBytes(2 * 1024 * 1024, 3100);
    const init = await user.caller.upload.init({ name: "chunked.bin", size: chunked.length, chunkSize: 1024 * 1024 });
    if (!("chunkCount" in init)) throw new Error("expected a chunked session");
    for (let i = 0; i < init.chunkCount; i++) {
      expect((await sendChunk(http.baseUrl, user.authHeaders, init.uploadId, i, chunked.subarray(i * init.chunkSize, (i + 1) * init.chunkSize))).status).toBe(200);
    }
    files.push({ id: (await user.caller.upload.complete({ uploadId: init.uploadId })).file.id, data: chunked });
    const aborted = await user.caller.upload.init({ name: "aborted.bin", size: 5000 });
    await user.caller.upload.abort({ uploadId: aborted.uploadId });
    for (const f of files) {
      const res = await fetch(`${http.baseUrl}/api/files/${f.id}/content`, { headers: user.authHeaders });
      expect(res.status).toBe(200);
      expect(sha256hex(Buffer.from(await res.arrayBuffer()))).toBe(sha256hex(f.data));
    }
    const waiting = await db.$primary().transferOutbox.count({ where: { state: "pending" } });
    expect(waiting).toBeGreaterThanOrEqual(7); // 6 transfers + the aborted upload's bytes
    expect((await health()).body.jobs.pending).toBeGreaterThanOrEqual(7);
    expect(worker.child.exitCode).toBeNull(); // still running, retrying the broker

    await rabbit.start();
    await waitUntil("every job done", async () => (await db.$primary().transferOutbox.count({ where: { state: { not: "done" } } })) === 0, 120_000);
    expect(worker.output()).toMatch(/reconnected to RabbitMQ/);
    for (const f of files) {
      const entry = await db.$primary().entry.findUniqueOrThrow({ where: { id: f.id }, include: { blob: true } });
      expect(entry.blob!.driver).toBe("s3");
      const res = await fetch(`${http.baseUrl}/api/files/${f.id}/content`, { headers: user.authHeaders });
      expect(sha256hex(Buffer.from(await res.arrayBuffer()))).toBe(sha256hex(f.data));
    }
    await waitUntil("the queue healthy again", async () => (await health()).body.queue === "ok", 30_000);
    expect(await worker.stop("SIGTERM")).toBe(0);
  }, 300_000);
});
