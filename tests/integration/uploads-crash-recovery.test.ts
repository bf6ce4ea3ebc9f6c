import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { db } from "~/server/db/client";
import { CLAIM_STALE_MS } from "~/server/services/uploads/limits";
import { spawnTsx, type Spawned } from "../helpers/processes";
import { patternBytes, readBlob, sendChunk, sha256hex, visibleFiles } from "../helpers/upload-client";
import { until } from "../helpers/web-instances";
import { createTestUser, type TestUser } from "../helpers/users";

// A web process killed with kill -9 while it streams a chunk, with real processes: the claim its
// writer held names a writer whose MariaDB lock died with the process, so the resend after a
// restart goes through at once, not after the heartbeat goes stale. One writer per part still
// holds across processes: a second PUT of a chunk that a live process is writing is 409.

const CHUNK = 1024 * 1024;
const servers: Spawned[] = [];

afterEach(async () => {
  while (servers.length) await servers.pop()!.stop("SIGKILL");
});

async function startServer(): Promise<{ baseUrl: string; process: Spawned }> {
  const child = spawnTsx("tests/helpers/raw-server-main.ts");
  servers.push(child);
  const line = await child.waitFor(/^listening \d+/, 120_000); // tsx compiles the route tree first: slow on a loaded machine
  return { baseUrl: `http://127.0.0.1:${line.split(" ")[1]}`, process: child };
}

async function initChunked(user: TestUser, name: string, size: number) {
  const r = await user.caller.upload.init({ name, size, chunkSize: CHUNK });
  if (!("chunkCount" in r)) throw new Error("expected a chunked session");
  return r;
}

/** A chunk PUT that sends `first` bytes of `body` and then waits (`finish` sends the rest). */
function slowPut(baseUrl: string, auth: Record<string, string>, uploadId: string, index: number, body: Buffer, first: number) {
  const req = http.request(`${baseUrl}/api/uploads/${uploadId}/chunks/${index}`, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/octet-stream", "content-length": String(body.length) },
  });
  const status = new Promise<number>((resolve) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
  });
  req.write(body.subarray(0, first));
  return { status, finish: () => req.end(body.subarray(first)) };
}

async function liveClaim(uploadId: string, index: number) {
  await until("the writer's claim", async () => (await db.$primary().uploadChunkClaim.count({ where: { sessionId: uploadId, index } })) === 1);
  return db.$primary().uploadChunkClaim.findUniqueOrThrow({ where: { sessionId_index: { sessionId: uploadId, index } } });
}

describe("chunk claims across processes", { timeout: 300_000 }, () => {
  it("two PUTs of one chunk at once on two processes: one writes, the other is 409", async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    const user = await createTestUser();
    const data = patternBytes(2 * CHUNK, 1301);
    const s = await initChunked(user, "two-writers.bin", data.length);
    const chunk0 = data.subarray(0, CHUNK);
    const slow = slowPut(a.baseUrl, user.authHeaders, s.uploadId, 0, chunk0, CHUNK / 2);
    const claim = await liveClaim(s.uploadId, 0);
    expect(claim.owner).not.toBeNull();
    const second = await sendChunk(b.baseUrl, user.authHeaders, s.uploadId, 0, chunk0);
    expect(second.status).toBe(409);
    expect(second.json.error.message).toMatch(/being uploaded by another request/);
    slow.finish();
    expect(await slow.status).toBe(200);
    expect((await sendChunk(b.baseUrl, user.authHeaders, s.uploadId, 1, data.subarray(CHUNK))).status).toBe(200);
    const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
  });

  it("kill -9 mid-chunk, restart: the resend goes through within seconds and the file is intact", async () => {
    const first = await startServer();
    const user = await createTestUser();
    const data = patternBytes(3 * CHUNK, 1302);
    const s = await initChunked(user, "crash.bin", data.length);
    const chunk = (i: number) => data.subarray(i * CHUNK, (i + 1) * CHUNK);
    expect((await sendChunk(first.baseUrl, user.authHeaders, s.uploadId, 0, chunk(0))).status).toBe(200);

    const slow = slowPut(first.baseUrl, user.authHeaders, s.uploadId, 1, chunk(1), CHUNK / 2);
    const claim = await liveClaim(s.uploadId, 1);
    expect(claim.owner).not.toBeNull();
    expect(await first.process.stop("SIGKILL")).toBe(null);
    expect(await slow.status).toBe(0);

    const second = await startServer();
    // Starting a process under tsx on a loaded machine can take longer than a heartbeat takes to go
    // stale. So that only the owner check can let the resend through, the dead writer's claim gets
    // a fresh heartbeat, as if it had died right after beating.
    expect(await db.uploadChunkClaim.updateMany({ where: { sessionId: s.uploadId, index: 1, token: claim.token }, data: { heartbeatAt: new Date() } })).toEqual({
      count: 1,
    });
    const started = Date.now();
    let conflicts = 0;
    let status = 0;
    for (let attempt = 0; attempt < 10; attempt++) {
      const r = await sendChunk(second.baseUrl, user.authHeaders, s.uploadId, 1, chunk(1));
      status = r.status;
      if (r.status !== 409) break;
      conflicts++;
      await sleep(Number(r.headers.get("retry-after")) * 1000);
    }
    const elapsed = Date.now() - started;
    expect(status).toBe(200);
    // Generous bounds, well below the heartbeat's staleness: the dead owner was recognised.
    expect(conflicts).toBeLessThanOrEqual(1);
    expect(elapsed).toBeLessThan(CLAIM_STALE_MS / 2);

    expect((await sendChunk(second.baseUrl, user.authHeaders, s.uploadId, 2, chunk(2))).status).toBe(200);
    const { file } = await user.caller.upload.complete({ uploadId: s.uploadId });
    expect(file.sha256).toBe(sha256hex(data));
    const [entry] = await visibleFiles(user.actor.userId);
    expect(sha256hex(await readBlob(entry!.blob!.storageKey))).toBe(sha256hex(data));
    console.log(`[uploads-crash-recovery] resend after restart: ${conflicts} × 409, ${elapsed} ms`);
  });
});
